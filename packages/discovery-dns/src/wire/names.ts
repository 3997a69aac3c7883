// DNS names on the wire and in text. In text a name is a sequence of labels joined by `.`, where
// a label's own `.` and `\` are escaped as `\.` and `\\`, and bytes that are not printable UTF-8
// as `\DDD` (decimal, RFC 1035 section 5.1). Instance labels are opaque bytes (RFC 6763 section
// 4.3): `4002@10.231.0.2` is ONE label, written `4002@10\.231\.0\.2` in text, and goes on the
// wire byte for byte.
import { quote } from '@peer/discovery-core/internal'
import { MalformedDnsMessageError } from '../errors.js'

/** Longest name on the wire, bytes (RFC 1035 section 2.3.4). */
export const MAX_NAME_BYTES = 255
/** Longest label, bytes. */
export const MAX_WIRE_LABEL = 63

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Splits a name in text form into its labels (bytes); throws {@link MalformedDnsMessageError}. */
export function nameToLabels(name: string): Buffer[] {
  if (!name.includes('\\')) return plainLabels(name)
  const labels: Buffer[] = []
  let current: number[] = []
  let i = 0
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name
  if (text === '') return labels
  const push = () => {
    if (current.length === 0) throw new MalformedDnsMessageError(`empty label in name ${quote(name)}`)
    if (current.length > MAX_WIRE_LABEL)
      throw new MalformedDnsMessageError(`label of ${current.length} bytes (over 63) in ${quote(name)}`)
    labels.push(Buffer.from(current))
    current = []
  }
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '.') {
      push()
      i++
    } else if (ch === '\\') {
      const digits = /^\d{3}/.exec(text.slice(i + 1, i + 4))
      if (digits) {
        const value = Number(digits[0])
        if (value > 255) throw new MalformedDnsMessageError(`bad escape \\${digits[0]} in ${quote(name)}`)
        current.push(value)
        i += 4
      } else {
        const cp = text.codePointAt(i + 1)
        if (cp === undefined) throw new MalformedDnsMessageError(`name ends with a backslash: ${quote(name)}`)
        const c = String.fromCodePoint(cp)
        for (const b of Buffer.from(c)) current.push(b)
        i += 1 + c.length
      }
    } else {
      const cp = text.codePointAt(i)!
      const c = String.fromCodePoint(cp)
      for (const b of Buffer.from(c)) current.push(b)
      i += c.length
    }
  }
  push()
  const size = labels.reduce((n, l) => n + l.length + 1, 1)
  if (size > MAX_NAME_BYTES) throw new MalformedDnsMessageError(`name of ${size} bytes (over 255)`)
  return labels
}

/** {@link nameToLabels} for a name without escapes (the common case). */
function plainLabels(name: string): Buffer[] {
  const text = name.endsWith('.') ? name.slice(0, -1) : name
  if (text === '') return []
  let size = 1
  const labels = text.split('.').map((part) => {
    const label = Buffer.from(part)
    if (label.length === 0) throw new MalformedDnsMessageError(`empty label in name ${quote(name)}`)
    if (label.length > MAX_WIRE_LABEL)
      throw new MalformedDnsMessageError(`label of ${label.length} bytes (over 63) in ${quote(name)}`)
    size += label.length + 1
    return label
  })
  if (size > MAX_NAME_BYTES) throw new MalformedDnsMessageError(`name of ${size} bytes (over 255)`)
  return labels
}

/** True when a label's bytes are printable ASCII without `.` and `\` (written as they are). */
function plainAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]!
    if (b < 0x20 || b > 0x7e || b === 0x2e || b === 0x5c) return false
  }
  return true
}

/** One label in text form (escaped), from its bytes. */
export function labelToText(label: Uint8Array): string {
  let text: string | undefined
  try {
    text = utf8.decode(label)
  } catch {
    text = undefined
  }
  if (text !== undefined) {
    let out = ''
    for (const ch of text) {
      const cp = ch.codePointAt(0)!
      if (ch === '.' || ch === '\\') out += `\\${ch}`
      else if (cp < 0x20 || cp === 0x7f) out += `\\${String(cp).padStart(3, '0')}`
      else out += ch
    }
    return out
  }
  let out = ''
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`
    else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b)
    else out += `\\${String(b).padStart(3, '0')}`
  }
  return out
}

/** A name in text form from its labels. */
export function labelsToName(labels: readonly Uint8Array[]): string {
  return labels.map(labelToText).join('.')
}

/** Wire size of a name without compression. */
export function nameWireSize(name: string): number {
  return nameToLabels(name).reduce((n, l) => n + l.length + 1, 1)
}

/**
 * Writes names with compression (RFC 1035 section 4.1.4): a suffix already written is replaced by
 * a pointer to it. Byte-exact: only identical label sequences are shared.
 */
export class NameWriter {
  readonly #offsets = new Map<string, number>()

  /** Writes `name` into `buf` at `offset` (and remembers its suffixes); returns the bytes written. */
  writeInto(name: string, buf: Buffer, offset: number): number {
    const labels = nameToLabels(name)
    const keys = labels.map((l) => l.toString('latin1'))
    let at = offset
    for (let i = 0; i < labels.length; i++) {
      const key = keys.slice(i).join('\u0100')
      const known = this.#offsets.get(key)
      if (known !== undefined) {
        buf[at] = 0xc0 | (known >> 8)
        buf[at + 1] = known & 0xff
        return at + 2 - offset
      }
      if (at < 0x3fff) this.#offsets.set(key, at)
      const l = labels[i]!
      buf[at] = l.length
      l.copy(buf, at + 1)
      at += l.length + 1
    }
    buf[at] = 0
    return at + 1 - offset
  }

  /** Bytes of `name` when written at `offset` (and remembers its suffixes for later names). */
  write(name: string, offset: number): Buffer {
    const buf = Buffer.alloc(MAX_NAME_BYTES + 2)
    return Buffer.from(buf.subarray(0, this.writeInto(name, buf, offset)))
  }
}

/** Reads a (possibly compressed) name at `offset`; returns it and the bytes it took in place. */
export function readName(buf: Buffer, offset: number): { name: string; bytes: number } {
  let name: string | undefined
  let pos = offset
  let bytes = -1
  let size = 1
  let jumps = 0
  for (;;) {
    if (pos >= buf.length) throw new MalformedDnsMessageError('name runs past the end of the packet')
    const len = buf[pos]!
    if (len === 0) {
      if (bytes < 0) bytes = pos + 1 - offset
      break
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new MalformedDnsMessageError('name pointer runs past the end')
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      // only backwards, and a bounded number of times: no loops
      if (target >= pos || ++jumps > 64) throw new MalformedDnsMessageError('bad name compression pointer')
      if (bytes < 0) bytes = pos + 2 - offset
      pos = target
      continue
    }
    if ((len & 0xc0) !== 0) throw new MalformedDnsMessageError('unsupported label type')
    if (pos + 1 + len > buf.length)
      throw new MalformedDnsMessageError('label runs past the end of the packet')
    size += len + 1
    if (size > MAX_NAME_BYTES) throw new MalformedDnsMessageError('name longer than 255 bytes')
    const text = plainAscii(buf, pos + 1, pos + 1 + len)
      ? buf.toString('latin1', pos + 1, pos + 1 + len)
      : labelToText(buf.subarray(pos + 1, pos + 1 + len))
    name = name === undefined ? text : `${name}.${text}`
    pos += 1 + len
  }
  return { name: name ?? '', bytes }
}

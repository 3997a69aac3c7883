// The one DNS message codec of the DNS and mDNS backends (RFC 1035 format, with the RFC 6762 bits
// as plain fields): byte-exact names (see names.ts), the unicast-response bit of questions and the
// cache-flush bit of records, and the record types both need (A, AAAA, CNAME, PTR, SOA, SRV, TXT,
// NSEC, OPT); other types keep raw rdata. The decoder reads untrusted datagrams: {@link checkHeader}
// rejects, before anything is allocated, a header whose section counts cannot fit in the datagram,
// and every inconsistency is a {@link MalformedDnsMessageError}, nothing else.

import { isIPv4, isIPv6 } from 'node:net'
import { quote } from '@peer/discovery-core/internal'
import { MalformedDnsMessageError } from '../errors.js'
import { NameWriter, readName } from './names.js'

/** A DNS question. */
export interface DnsQuestion {
  /** The name asked about, in text form with `\.` and `\DDD` escapes; decoded without a trailing dot. */
  name: string
  /** The type asked for by name (`A`, `PTR`, `SRV`, `ANY` ...; `UNKNOWN_<n>` for others, see `typeCode`). */
  type: string
  /** `IN` (default), `ANY`, `UNKNOWN_<n>` or a class number. */
  class?: string | number | undefined
  /** The unicast-response (QU) bit, RFC 6762 section 5.4. */
  qu?: boolean | undefined
}

/** A DNS resource record. */
export interface DnsRecord {
  /** The owner name, in text form with `\.` and `\DDD` escapes; decoded without a trailing dot. */
  name: string
  /** The record type by name (`A`, `TXT`, `OPT` ...; `UNKNOWN_<n>` for others, see `typeCode`). */
  type: string
  /** Seconds, as on the wire (a reader of unicast DNS caps it, see RFC 2181 section 8). */
  ttl?: number | undefined
  /**
   * Decoded: `IN`, `ANY` or `UNKNOWN_<n>`. Encoded: those or a number. For OPT (RFC 6891) the
   * class is the requestor's UDP payload size, written as is (no cache-flush bit).
   */
  class?: string | number | undefined
  /** The mDNS cache-flush bit. */
  flush?: boolean | undefined
  /**
   * A/AAAA/CNAME/NS/PTR: a string; SRV: `{ target, port, priority, weight }`; TXT: `Buffer[]`;
   * SOA: `SoaData`; NSEC: `{ nextDomain, rrtypes }`; others: raw `Buffer`.
   */
  data?: unknown
}

/** A DNS message. */
export interface DnsPacket {
  /** The QR bit: `'response'` when set, `'query'` when clear. The encoder writes a query when absent. */
  type?: 'query' | 'response' | undefined
  /** The 16-bit message ID that pairs a reply with its query. The encoder writes 0 when absent. */
  id?: number | undefined
  /** Header flags without the QR bit (e.g. AA = 0x400, TC = 0x200). */
  flags?: number | undefined
  /** The question section. The decoder always sets it; the encoder takes absent as empty. */
  questions?: DnsQuestion[] | undefined
  /** The answer section. The decoder always sets it; the encoder takes absent as empty. */
  answers?: DnsRecord[] | undefined
  /** The authority section. The decoder always sets it; the encoder takes absent as empty. */
  authorities?: DnsRecord[] | undefined
  /**
   * The additional section (where an OPT record goes). The decoder always sets it, empty when
   * `skipTruncatedAdditionals` applied; the encoder takes absent as empty.
   */
  additionals?: DnsRecord[] | undefined
}

/** The data of an SOA record (RFC 1035 section 3.3.13). */
export interface SoaData {
  /** The zone's primary name server, in text form. */
  mname: string
  /** The mailbox of the zone's administrator, as a name (its first label is the local part). */
  rname: string
  /** The version number of the zone (unsigned 32 bits). */
  serial: number
  /** Seconds between a secondary server's checks for a new version of the zone. */
  refresh: number
  /** Seconds a secondary server waits to try again after a failed refresh. */
  retry: number
  /** Seconds after which a secondary server that cannot refresh stops answering for the zone. */
  expire: number
  /** The negative-caching TTL (RFC 2308). */
  minimum: number
}

/** What {@link decodePacket} and {@link checkHeader} accept besides the bytes. */
export interface DecodeOptions {
  /**
   * Unicast DNS: when the TC bit is set, the message may end anywhere in the additional section,
   * which is then not decoded (`additionals` is empty). mDNS leaves this off: there TC only says
   * that known answers continue in another packet (RFC 6762 section 7.2), and the message is whole.
   */
  skipTruncatedAdditionals?: boolean | undefined
}

/** Authoritative answer flag. */
export const FLAG_AA = 0x400
/** Truncated flag (unicast DNS: retry over TCP; mDNS: known answers continue in the next packet). */
export const FLAG_TC = 0x200
/** Smallest question on the wire (root name + type + class). */
export const MIN_QUESTION_BYTES = 5
/** Smallest resource record on the wire (root name + type, class, TTL and RDLENGTH). */
export const MIN_RECORD_BYTES = 11

const TYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  13: 'HINFO',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  41: 'OPT',
  47: 'NSEC',
  255: 'ANY',
}
const TYPE_CODES = new Map(Object.entries(TYPES).map(([k, v]) => [v, Number(k)]))

/** The numeric code of a type name (`A`, `UNKNOWN_65` ...). */
export function typeCode(type: string): number {
  const known = TYPE_CODES.get(type)
  if (known !== undefined) return known
  const m = /^UNKNOWN_(\d+)$/.exec(type)
  if (m && Number(m[1]) < 65536) return Number(m[1])
  throw new MalformedDnsMessageError(`unknown record type ${quote(type)}`)
}

/** The name of a type code. */
export function typeName(code: number): string {
  return TYPES[code] ?? `UNKNOWN_${code}`
}

function classCode(cls: unknown): number {
  if (cls === undefined || cls === 'IN') return 1
  if (cls === 'ANY') return 255
  if (typeof cls === 'number') return cls & 0x7fff
  const m = /^UNKNOWN_(\d+)$/.exec(String(cls))
  if (m) return Number(m[1]) & 0x7fff
  throw new MalformedDnsMessageError(`unknown class ${quote(cls)}`)
}

function className(code: number): string {
  return code === 1 ? 'IN' : code === 255 ? 'ANY' : `UNKNOWN_${code}`
}

/**
 * Why a datagram cannot be a DNS message, judged from its header alone (nothing decoded yet), or
 * `undefined` when it may be one: shorter than a header, or section counts that need more bytes
 * than the datagram has (each question takes at least 5 bytes, each record at least 11).
 */
export function checkHeader(buf: Uint8Array, options: DecodeOptions = {}): string | undefined {
  if (buf.length < 12) return `datagram of ${buf.length} bytes is shorter than a DNS header`
  const count = (at: number) => (buf[at]! << 8) | buf[at + 1]!
  const qd = count(4)
  const skipAdditionals = options.skipTruncatedAdditionals === true && (buf[2]! & 0x02) !== 0
  const records = count(6) + count(8) + (skipAdditionals ? 0 : count(10))
  const need = 12 + qd * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES
  if (need > buf.length)
    return `header announces ${qd} questions and ${records} records, which need at least ${need} bytes; the datagram has ${buf.length}`
  return undefined
}

// ---------------------------------------------------------------------------------------------
// decoding

/**
 * Decodes a DNS message; throws {@link MalformedDnsMessageError} for anything malformed (a record
 * whose name-bearing RDATA does not fill its RDLENGTH included).
 */
export function decodePacket(buf: Uint8Array, options: DecodeOptions = {}): DnsPacket {
  const problem = checkHeader(buf, options)
  if (problem !== undefined) throw new MalformedDnsMessageError(problem)
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const bits = view.readUInt16BE(2)
  const skipAdditionals = options.skipTruncatedAdditionals === true && (bits & FLAG_TC) !== 0
  const counts = [
    view.readUInt16BE(4),
    view.readUInt16BE(6),
    view.readUInt16BE(8),
    skipAdditionals ? 0 : view.readUInt16BE(10),
  ]
  let pos = 12
  const questions: DnsQuestion[] = []
  for (let i = 0; i < counts[0]!; i++) {
    const { name, bytes } = readName(view, pos)
    pos += bytes
    if (pos + 4 > view.length) throw new MalformedDnsMessageError('question runs past the end of the packet')
    const type = view.readUInt16BE(pos)
    const cls = view.readUInt16BE(pos + 2)
    pos += 4
    questions.push({ name, type: typeName(type), class: className(cls & 0x7fff), qu: (cls & 0x8000) !== 0 })
  }
  const sections: DnsRecord[][] = [[], [], []]
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { name, bytes } = readName(view, pos)
      pos += bytes
      if (pos + 10 > view.length) throw new MalformedDnsMessageError('record runs past the end of the packet')
      const type = view.readUInt16BE(pos)
      const cls = view.readUInt16BE(pos + 2)
      const ttl = view.readUInt32BE(pos + 4)
      const len = view.readUInt16BE(pos + 8)
      pos += 10
      if (pos + len > view.length) throw new MalformedDnsMessageError('rdata runs past the end of the packet')
      const data = decodeRdata(view, pos, len, type)
      pos += len
      sections[s]!.push({
        name,
        type: typeName(type),
        ttl,
        class: className(cls & 0x7fff),
        flush: (cls & 0x8000) !== 0,
        data,
      })
    }
  }
  return {
    id: view.readUInt16BE(0),
    type: bits & 0x8000 ? 'response' : 'query',
    flags: bits & 0x7fff,
    questions,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
  }
}

function decodeRdata(buf: Buffer, pos: number, len: number, type: number): unknown {
  const end = pos + len
  const within = (bytes: number, at = pos) => {
    if (at + bytes > end) throw new MalformedDnsMessageError(`${typeName(type)} rdata overruns its length`)
  }
  const fills = (bytes: number, at = pos) => {
    if (at + bytes !== end)
      throw new MalformedDnsMessageError(`${typeName(type)} rdata does not fill its length of ${len}`)
  }
  switch (type) {
    case 1:
      if (len !== 4) throw new MalformedDnsMessageError(`A rdata of ${len} bytes`)
      return `${buf[pos]}.${buf[pos + 1]}.${buf[pos + 2]}.${buf[pos + 3]}`
    case 28:
      if (len !== 16) throw new MalformedDnsMessageError(`AAAA rdata of ${len} bytes`)
      return formatIpv6(buf.subarray(pos, end))
    case 2:
    case 5:
    case 12: {
      const { name, bytes } = readName(buf, pos)
      fills(bytes)
      return name
    }
    case 6: {
      const m = readName(buf, pos)
      within(m.bytes)
      const r = readName(buf, pos + m.bytes)
      const at = pos + m.bytes + r.bytes
      fills(20, at)
      return {
        mname: m.name,
        rname: r.name,
        serial: buf.readUInt32BE(at),
        refresh: buf.readUInt32BE(at + 4),
        retry: buf.readUInt32BE(at + 8),
        expire: buf.readUInt32BE(at + 12),
        minimum: buf.readUInt32BE(at + 16),
      } satisfies SoaData
    }
    case 33: {
      within(6)
      const { name, bytes } = readName(buf, pos + 6)
      fills(bytes, pos + 6)
      return {
        priority: buf.readUInt16BE(pos),
        weight: buf.readUInt16BE(pos + 2),
        port: buf.readUInt16BE(pos + 4),
        target: name,
      }
    }
    case 16: {
      const strings: Buffer[] = []
      let at = pos
      while (at < end) {
        const n = buf[at]!
        within(1 + n, at)
        strings.push(Buffer.from(buf.subarray(at + 1, at + 1 + n)))
        at += 1 + n
      }
      return strings
    }
    case 47: {
      const { name, bytes } = readName(buf, pos)
      within(bytes)
      const rrtypes: string[] = []
      let at = pos + bytes
      while (at < end) {
        within(2, at)
        const window = buf[at]!
        const n = buf[at + 1]!
        if (n < 1 || n > 32) throw new MalformedDnsMessageError('NSEC bitmap of a bad length')
        within(2 + n, at)
        for (let i = 0; i < n * 8; i++)
          if (buf[at + 2 + (i >> 3)]! & (0x80 >> (i & 7))) rrtypes.push(typeName(window * 256 + i))
        at += 2 + n
      }
      return { nextDomain: name, rrtypes }
    }
    default:
      return Buffer.from(buf.subarray(pos, end))
  }
}

function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!)
  // RFC 5952: the longest run (>= 2) of zero groups becomes ::
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

function parseIpv6(address: string): Buffer {
  const bare = address.replace(/%.*$/, '')
  if (!isIPv6(bare)) throw new MalformedDnsMessageError(`not an IPv6 address: ${quote(address)}`)
  let text = bare
  // an embedded IPv4 tail becomes two groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const b = v4[1]!.split('.').map(Number)
    text = `${text.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  const out = Buffer.alloc(16)
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2)
  return out
}

// ---------------------------------------------------------------------------------------------
// encoding

/** Largest message the encoder writes (the UDP payload limit). */
const MAX_ENCODED = 65_535
/** Scratch space of the encoder (it is synchronous and copies its result out). */
const scratch = Buffer.alloc(MAX_ENCODED)

/** Encodes a DNS message (names compressed); throws {@link MalformedDnsMessageError} for bad contents. */
export function encodePacket(packet: DnsPacket): Buffer {
  const names = new NameWriter()
  const buf = scratch
  const questions = packet.questions ?? []
  const sections = [packet.answers ?? [], packet.authorities ?? [], packet.additionals ?? []]
  buf.writeUInt16BE(packet.id ?? 0, 0)
  buf.writeUInt16BE(((packet.flags ?? 0) & 0x7fff) | (packet.type === 'response' ? 0x8000 : 0), 2)
  buf.writeUInt16BE(questions.length, 4)
  for (const [i, s] of sections.entries()) buf.writeUInt16BE(s.length, 6 + i * 2)
  let at = 12
  const room = (bytes: number) => {
    if (at + bytes > MAX_ENCODED) throw new MalformedDnsMessageError('message over 65535 bytes')
  }
  for (const q of questions) {
    room(MAX_NAME_WITH_POINTER + 4)
    at += names.writeInto(q.name, buf, at)
    buf.writeUInt16BE(typeCode(q.type), at)
    buf.writeUInt16BE(classCode(q.class) | (q.qu ? 0x8000 : 0), at + 2)
    at += 4
  }
  for (const section of sections) {
    for (const r of section) {
      room(MAX_NAME_WITH_POINTER + 10)
      at += names.writeInto(r.name, buf, at)
      const type = typeCode(r.type)
      buf.writeUInt16BE(type, at)
      // OPT: the class field is the UDP payload size (RFC 6891 section 6.1.2), all 16 bits
      const cls = type === 41 ? Number(r.class ?? 512) & 0xffff : classCode(r.class) | (r.flush ? 0x8000 : 0)
      buf.writeUInt16BE(cls, at + 2)
      buf.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(r.ttl ?? 0))), at + 4)
      const start = at + 10
      const end = writeRdata(r, type, names, buf, start)
      buf.writeUInt16BE(end - start, at + 8)
      at = end
    }
  }
  return Buffer.from(buf.subarray(0, at))
}

const MAX_NAME_WITH_POINTER = 257

function writeRdata(r: DnsRecord, type: number, names: NameWriter, buf: Buffer, at: number): number {
  const data = r.data
  const put = (bytes: Buffer) => {
    if (at + bytes.length > MAX_ENCODED) throw new MalformedDnsMessageError('message over 65535 bytes')
    bytes.copy(buf, at)
    return at + bytes.length
  }
  switch (type) {
    case 1: {
      if (typeof data !== 'string' || !isIPv4(data))
        throw new MalformedDnsMessageError(`A record data must be an IPv4 address, got ${quote(data)}`)
      return put(Buffer.from(data.split('.').map(Number)))
    }
    case 28:
      return put(parseIpv6(String(data)))
    case 2:
    case 5:
    case 12:
      if (at + MAX_NAME_WITH_POINTER > MAX_ENCODED)
        throw new MalformedDnsMessageError('message over 65535 bytes')
      return at + names.writeInto(String(data), buf, at)
    case 6: {
      const d = data as SoaData
      if (at + 2 * MAX_NAME_WITH_POINTER + 20 > MAX_ENCODED)
        throw new MalformedDnsMessageError('message over 65535 bytes')
      at += names.writeInto(d.mname, buf, at)
      at += names.writeInto(d.rname, buf, at)
      for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) {
        buf.writeUInt32BE(v >>> 0, at)
        at += 4
      }
      return at
    }
    case 33: {
      const d = data as { target: string; port: number; priority?: number; weight?: number }
      if (at + 6 + MAX_NAME_WITH_POINTER > MAX_ENCODED)
        throw new MalformedDnsMessageError('message over 65535 bytes')
      buf.writeUInt16BE(d.priority ?? 0, at)
      buf.writeUInt16BE(d.weight ?? 0, at + 2)
      buf.writeUInt16BE(d.port, at + 4)
      return at + 6 + names.writeInto(d.target, buf, at + 6)
    }
    case 16: {
      const list = (Array.isArray(data) ? data : [data ?? '']).map((s) =>
        typeof s === 'string' ? Buffer.from(s) : Buffer.from(s as Uint8Array),
      )
      if (list.length === 0) return put(Buffer.from([0]))
      for (const s of list)
        if (s.length > 255) throw new MalformedDnsMessageError('TXT string over 255 bytes')
      return put(Buffer.concat(list.flatMap((s) => [Buffer.from([s.length]), s])))
    }
    case 47: {
      const d = data as { nextDomain: string; rrtypes: string[] }
      // RFC 6762 section 6.1: the next domain name is not compressed
      const next = new NameWriter().write(d.nextDomain, 0)
      const windows = new Map<number, Buffer>()
      for (const t of d.rrtypes) {
        const code = typeCode(t)
        const w = windows.get(code >> 8) ?? Buffer.alloc(32)
        w[(code & 0xff) >> 3]! |= 0x80 >> (code & 7)
        windows.set(code >> 8, w)
      }
      const maps = [...windows.entries()]
        .sort(([a], [b]) => a - b)
        .map(([window, bits]) => {
          let n = 32
          while (n > 1 && bits[n - 1] === 0) n--
          return Buffer.concat([Buffer.from([window, n]), bits.subarray(0, n)])
        })
      return put(Buffer.concat([next, ...maps]))
    }
    default:
      return put(Buffer.isBuffer(data) ? data : Buffer.alloc(0))
  }
}

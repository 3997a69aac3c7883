// DNS-SD TXT records (RFC 6763 section 6): our announcement's key=value strings, and the decoder
// for TXT data read from the network (untrusted: binary, oversized, duplicated keys).
import type { LocalPeer } from '@peer/discovery-core'
import { InvalidAnnouncementError } from './errors.js'

/** The protocol version this package announces (`pv` key) and accepts (same major). */
export const PROTOCOL_VERSION = '1'

/** TXT keys the backend sets itself; user meta cannot use them. */
export const RESERVED_TXT_KEYS: ReadonlySet<string> = new Set(['id', 'name', 'pv'])

/** Limits applied to TXT data, ours and the network's. */
export interface TxtLimits {
  /** Largest total TXT rdata in bytes. Default 1300 (RFC 6763 section 6.2: fits one packet). */
  maxBytes: number
  /** Most key=value strings kept. Default 64. */
  maxEntries: number
}

/** Default {@link TxtLimits}. */
export const DEFAULT_TXT_LIMITS: Readonly<TxtLimits> = Object.freeze({ maxBytes: 1300, maxEntries: 64 })

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const CONTROL = /[\u0000-\u001f\u007f]/

/** Size in bytes of TXT rdata made of `strings` (one length byte each). */
export function txtSize(strings: readonly Uint8Array[]): number {
  return strings.reduce((n, s) => n + 1 + s.length, 0)
}

/**
 * Encodes what a node announces as TXT strings: `id`, `name` (when set), `pv`, then user meta.
 * Throws {@link InvalidAnnouncementError} for a reserved key, a string over 255 bytes, or a total
 * over `limits.maxBytes`.
 */
export function encodeTxt(self: LocalPeer, limits: TxtLimits = DEFAULT_TXT_LIMITS): Buffer[] {
  const out = [Buffer.from(`id=${self.id}`)]
  if (self.name !== undefined) out.push(Buffer.from(`name=${self.name}`))
  out.push(Buffer.from(`pv=${PROTOCOL_VERSION}`))
  for (const [key, value] of Object.entries(self.meta ?? {})) {
    if (RESERVED_TXT_KEYS.has(key.toLowerCase())) {
      throw new InvalidAnnouncementError(`meta key ${JSON.stringify(key)} is reserved by the mDNS backend`)
    }
    const entry = Buffer.from(`${key}=${value}`)
    if (entry.length > 255) {
      throw new InvalidAnnouncementError(
        `meta.${key}: a TXT string is at most 255 bytes (got ${entry.length})`,
      )
    }
    out.push(entry)
  }
  if (out.length > limits.maxEntries) {
    throw new InvalidAnnouncementError(`more than ${limits.maxEntries} TXT strings (${out.length})`)
  }
  const size = txtSize(out)
  if (size > limits.maxBytes) {
    throw new InvalidAnnouncementError(`TXT record is ${size} bytes, over the ${limits.maxBytes}-byte limit`)
  }
  return out
}

/** What {@link decodeTxt} found. */
export interface DecodedTxt {
  /** Valid `key=value` pairs (first occurrence wins, keys lowercased as DNS-SD says). */
  entries: Map<string, string>
  /** Why strings were dropped (binary, no key, control characters, too many, too large). */
  problems: string[]
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes untrusted TXT strings. Bad strings are skipped and described in `problems`; TXT data over
 * `limits.maxBytes * 4` (or 8900 bytes, the DNS-SD maximum, whichever is larger) is dropped whole.
 */
export function decodeTxt(
  strings: readonly Uint8Array[],
  limits: TxtLimits = DEFAULT_TXT_LIMITS,
): DecodedTxt {
  const entries = new Map<string, string>()
  const problems: string[] = []
  if (txtSize(strings) > Math.max(8900, limits.maxBytes * 4)) {
    problems.push(`TXT record of ${txtSize(strings)} bytes is too large`)
    return { entries, problems }
  }
  for (const raw of strings) {
    if (raw.length === 0) continue // an empty TXT is one empty string
    if (entries.size >= limits.maxEntries) {
      problems.push(`more than ${limits.maxEntries} TXT strings`)
      break
    }
    let text: string
    try {
      text = utf8.decode(raw)
    } catch {
      problems.push('TXT string is not UTF-8')
      continue
    }
    const eq = text.indexOf('=')
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase()
    const value = eq < 0 ? '' : text.slice(eq + 1)
    if (!KEY.test(key)) {
      problems.push(`TXT key ${JSON.stringify(key.slice(0, 40))} is not 1-64 of [A-Za-z0-9._-]`)
      continue
    }
    if (CONTROL.test(value)) {
      problems.push(`TXT value of ${key} contains control characters`)
      continue
    }
    if (!entries.has(key)) entries.set(key, value)
  }
  return { entries, problems }
}

// DNS-SD TXT records (RFC 6763 section 6): our announcement's key=value strings, and the decoder
// for TXT data read from the network (untrusted: binary, oversized, duplicated keys).

import type { LocalPeer } from '@peer/discovery-core'
import { quote } from '@peer/discovery-core/internal'
import { parseTxt, txtSize } from '@peer/discovery-dns/wire'
import { InvalidAnnouncementError } from './errors.js'

export { txtSize }

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
      throw new InvalidAnnouncementError(`meta key ${quote(key)} is reserved by the mDNS backend`)
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

/**
 * Decodes untrusted TXT strings with the shared parser (`parseTxt` of `@peer/discovery-dns/wire`).
 * Bad strings are skipped and described in `problems`; a boolean attribute (a key without `=`) is
 * kept with the value `''`; TXT data over `limits.maxBytes * 4` (or 8900 bytes, the DNS-SD maximum,
 * whichever is larger) is dropped whole.
 */
export function decodeTxt(
  strings: readonly Uint8Array[],
  limits: TxtLimits = DEFAULT_TXT_LIMITS,
): DecodedTxt {
  const parsed = parseTxt(strings, {
    maxBytes: Math.max(8900, limits.maxBytes * 4),
    maxEntries: limits.maxEntries,
  })
  const entries = parsed.entries
  for (const flag of parsed.flags) entries.set(flag, '')
  return { entries, problems: parsed.problems }
}

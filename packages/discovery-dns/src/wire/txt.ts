// The one TXT `key=value` parser of the DNS and mDNS backends (RFC 1464, RFC 6763 section 6). TXT
// data comes from the network: binary, oversized, with duplicated keys. Nothing here throws.

import { hasControlChars, quote } from '@peer/discovery-core/internal'

/** Limits applied while parsing TXT data; each is off when absent. */
export interface TxtParseLimits {
  /** TXT data over this many bytes (one length byte per string included) is dropped whole. */
  maxBytes?: number | undefined
  /** Most attributes kept (key=value pairs and boolean attributes together); the rest are dropped. */
  maxEntries?: number | undefined
}

/** What {@link parseTxt} found. */
export interface ParsedTxt {
  /** Valid `key=value` attributes: keys lowercased (they are case-insensitive), first occurrence wins. */
  entries: Map<string, string>
  /** Valid boolean attributes (a string with a key and no `=`, RFC 6763 section 6.4), lowercased. */
  flags: Set<string>
  /** Why strings were dropped (binary, no key, a bad key, control characters, too many, too large). */
  problems: string[]
}

/** A TXT key: 1 to 64 of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const TXT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Size in bytes of TXT rdata made of `strings` (one length byte each). */
export function txtSize(strings: readonly (string | Uint8Array)[]): number {
  return strings.reduce((n, s) => n + 1 + (typeof s === 'string' ? Buffer.byteLength(s) : s.length), 0)
}

/**
 * Parses TXT character-strings (bytes as read off the wire, or text) into attributes. Empty strings
 * are ignored (an empty TXT record is one empty string); a string that is not UTF-8, has no key
 * (`=x`), a key outside {@link TXT_KEY}, or a value with control characters is dropped and
 * described in `problems`.
 */
export function parseTxt(strings: readonly (string | Uint8Array)[], limits: TxtParseLimits = {}): ParsedTxt {
  const entries = new Map<string, string>()
  const flags = new Set<string>()
  const problems: string[] = []
  if (limits.maxBytes !== undefined) {
    const size = txtSize(strings)
    if (size > limits.maxBytes) {
      problems.push(`TXT record of ${size} bytes is too large`)
      return { entries, flags, problems }
    }
  }
  for (const raw of strings) {
    if (raw.length === 0) continue
    if (limits.maxEntries !== undefined && entries.size + flags.size >= limits.maxEntries) {
      problems.push(`more than ${limits.maxEntries} TXT strings`)
      break
    }
    let text: string
    if (typeof raw === 'string') {
      text = raw
    } else {
      try {
        text = utf8.decode(raw)
      } catch {
        problems.push('TXT string is not UTF-8')
        continue
      }
    }
    const eq = text.indexOf('=')
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase()
    if (!TXT_KEY.test(key)) {
      problems.push(`TXT key ${quote(key.slice(0, 40))} is not 1-64 of [A-Za-z0-9._-]`)
      continue
    }
    if (eq < 0) {
      if (!entries.has(key)) flags.add(key)
      continue
    }
    const value = text.slice(eq + 1)
    if (hasControlChars(value)) {
      problems.push(`TXT value of ${key} contains control characters`)
      continue
    }
    if (!entries.has(key) && !flags.has(key)) entries.set(key, value)
  }
  return { entries, flags, problems }
}

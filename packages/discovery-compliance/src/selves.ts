import { createHash } from 'node:crypto'
import type { LocalPeer } from '@peer/discovery-core'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/**
 * The nodes a scenario plays: valid ids (base32 SHA-256 of a label unique to this run and
 * scenario), names `kit<n>@host<n>` and one loopback address each.
 */
export function selvesFor(scenario: string, count: number): LocalPeer[] {
  const run = `${process.pid}-${Date.now()}-${Math.random()}`
  return Array.from({ length: count }, (_, i) => ({
    id: base32(createHash('sha256').update(`${run}|${scenario}|${i}`).digest()),
    name: `kit${i}@host${i}`,
    addresses: [{ host: '127.0.0.1', port: 40_000 + i }],
    meta: { kit: 'compliance' },
  }))
}

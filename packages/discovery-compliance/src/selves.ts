import { createHash } from 'node:crypto'
import { encodeBase32, type LocalPeer } from '@peer/discovery-core'

/**
 * The nodes a scenario plays: valid ids (base32 SHA-256 of a label unique to this run and
 * scenario), names `kit<n>@host<n>` and one loopback address each.
 */
export function selvesFor(scenario: string, count: number): LocalPeer[] {
  const run = `${process.pid}-${Date.now()}-${Math.random()}`
  return Array.from({ length: count }, (_, i) => ({
    id: encodeBase32(createHash('sha256').update(`${run}|${scenario}|${i}`).digest()),
    name: `kit${i}@host${i}`,
    addresses: [{ host: '127.0.0.1', port: 40_000 + i }],
    meta: { kit: 'compliance' },
  }))
}

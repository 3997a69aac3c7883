// The address book of one peer: its announced addresses, the discovery sources that announced
// each, and which of them worked. Moved out of PeerRegistry; pure functions over explicit state.

import type { PeerAddress, PeerRecord } from '@peer/discovery-core'

/** One known address of a peer. @internal */
export interface AddressEntry {
  readonly host: string
  readonly port: number
  sources: readonly string[]
  lastConnectedAt?: number | undefined
  lastError?: string | undefined
}

/** The key identifying an address (case-insensitive host and port). @internal */
export function addressKey(a: PeerAddress): string {
  return `${a.host.toLowerCase()}|${a.port}`
}

/**
 * The addresses after `record` announced the peer again: at most `maxAddresses`, the record's
 * first, each keeping what was known of it, then the ones that worked before. @internal
 */
export function mergeAddresses(
  current: readonly AddressEntry[],
  record: PeerRecord,
  maxAddresses: number,
): AddressEntry[] {
  const sources =
    'sources' in record && Array.isArray(record.sources)
      ? (record.sources as readonly string[])
      : [record.source]
  const previous = new Map(current.map((a) => [addressKey(a), a]))
  const next: AddressEntry[] = []
  for (const a of record.addresses.slice(0, maxAddresses)) {
    const old = previous.get(addressKey(a))
    next.push({
      host: a.host,
      port: a.port,
      sources: [...sources],
      lastConnectedAt: old?.lastConnectedAt,
      lastError: old?.lastError,
    })
  }
  // an address that worked before stays as a fallback, so a misleading announcement that
  // replaces the record cannot make the peer unreachable
  for (const old of current) {
    if (next.length >= maxAddresses) break
    if (old.lastConnectedAt !== undefined && !next.some((a) => addressKey(a) === addressKey(old))) {
      next.push({ ...old, sources: [] })
    }
  }
  return next
}

/**
 * The addresses in dialing order: those that worked before first, the rest in discovery's order. @internal
 */
export function dialOrder(addresses: readonly AddressEntry[]): AddressEntry[] {
  return [...addresses].sort((a, b) => (b.lastConnectedAt ?? 0) - (a.lastConnectedAt ?? 0))
}

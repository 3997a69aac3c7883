import type { PeerAddress, PeerRecord } from './peer-record.js'

/** A peer as the aggregate sees it: the merged record plus every source that reports it. */
export interface MergedPeerRecord extends PeerRecord {
  /** Sources reporting the peer, in backend priority order. `source` is the first of them. */
  readonly sources: readonly string[]
}

/**
 * The record of one peer merged across the sources that report it (`bySource`), highest priority
 * first (`priority`: a source's rank, lowest first): the addresses of every source without
 * duplicates (host compared without case), in priority order; the first name; the lowest TTL; meta
 * keys of a higher-priority source win. Frozen.
 */
export function mergeRecords(
  bySource: ReadonlyMap<string, PeerRecord>,
  priority: ReadonlyMap<string, number>,
): MergedPeerRecord {
  const ordered = [...bySource.values()].sort(
    (a, b) => (priority.get(a.source) ?? 0) - (priority.get(b.source) ?? 0),
  )
  const first = ordered[0]!
  const addresses: PeerAddress[] = []
  const seen = new Set<string>()
  let name: string | undefined
  let ttl: number | undefined
  const meta: Record<string, string> = {}
  for (const r of ordered) {
    for (const a of r.addresses) {
      const key = `${a.host.toLowerCase()}|${a.port}`
      if (!seen.has(key)) {
        seen.add(key)
        addresses.push(a)
      }
    }
    name ??= r.name
    if (r.ttl !== undefined) ttl = ttl === undefined ? r.ttl : Math.min(ttl, r.ttl)
  }
  for (const r of [...ordered].reverse()) Object.assign(meta, r.meta)
  const merged: { -readonly [K in keyof MergedPeerRecord]: MergedPeerRecord[K] } = {
    id: first.id,
    addresses: Object.freeze(addresses),
    source: first.source,
    sources: Object.freeze(ordered.map((r) => r.source)),
  }
  if (name !== undefined) merged.name = name
  if (Object.keys(meta).length > 0) merged.meta = Object.freeze(meta)
  if (ttl !== undefined) merged.ttl = ttl
  return Object.freeze(merged)
}

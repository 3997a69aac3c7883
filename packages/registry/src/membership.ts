// PeerRegistry's membership: who is trusted, and what a discovery, a loss or a trust change does to
// the peer map (a new entry, a rejection, a dial queued, a peer forgotten).

import { type Logger, type PeerRecord, shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { mergeAddresses } from './address-book.js'
import type { RegistryConnection } from './interfaces.js'
import { newPeerEntry, type PeerEntry } from './peer-entry.js'
import type { RegistryConfig } from './registry-config.js'
import type { RegistryCore } from './registry-core.js'

/** True when `trust` trusts `id`; a check that throws is logged and counts as untrusted. @internal */
export function checkTrust(
  trust: RegistryConfig<RegistryConnection>['trust'],
  log: Logger,
  id: string,
): boolean {
  try {
    return typeof trust === 'function' ? trust(id) === true : trust.has(id) === true
  } catch (error) {
    log.warn('trust check threw; treating the id as untrusted', {
      id: shortId(id),
      error: errorMessage(error),
    })
    return false
  }
}

/** Counts, logs and emits an untrusted peer (`peer:rejected`). @internal */
export function rejectPeer<C extends RegistryConnection>(
  core: RegistryCore<C>,
  id: string,
  source: string,
): void {
  core.stats.rejected++
  core.log.info('rejected an untrusted peer', { id: shortId(id), source })
  core.emit('peer:rejected', { id, source, reason: 'untrusted' })
}

/** A new entry for `id` in the peer map, or `undefined` (counted) when the map is full. @internal */
export function createPeer<C extends RegistryConnection>(
  core: RegistryCore<C>,
  id: string,
): PeerEntry<C> | undefined {
  if (core.peers.size >= core.cfg.maxPeers) {
    core.stats.overflowDrops++
    core.log.warn('peer map full: dropped a peer', { id: shortId(id), maxPeers: core.cfg.maxPeers })
    return undefined
  }
  const entry = newPeerEntry<C>(id)
  core.peers.set(id, entry)
  return entry
}

/** A peer was discovered (`fresh`) or updated: tracked, its addresses merged, dialed when due. @internal */
export function onDiscovered<C extends RegistryConnection>(
  core: RegistryCore<C>,
  record: PeerRecord,
  source: string,
  fresh: boolean,
): void {
  if (!core.started() || record.id === core.self) return
  if (!core.isTrusted(record.id)) {
    rejectPeer(core, record.id, source)
    return
  }
  const entry = core.peers.get(record.id) ?? createPeer(core, record.id)
  if (entry === undefined) return
  const joined = !entry.discovered
  entry.discovered = true
  entry.lastSeen = Date.now()
  if (record.name !== undefined) entry.name = record.name
  entry.addresses = mergeAddresses(entry.addresses, record, core.cfg.maxAddresses)
  if (joined) core.emit('peer:member', { id: entry.id, name: entry.name, source })
  if (core.cfg.onDemand) return // a member is dialed when used (ensureConnected)
  switch (entry.state) {
    case 'connected':
    case 'dialing':
    case 'queued':
      return // a hint never redirects or drops what is in progress
    case 'departed':
      // it stopped saying goodbye; hearing of it again means it is back
      entry.backoffLevel = 0
      core.dials.clearTimer(entry)
      core.dials.enqueue(entry)
      return
    case 'backoff':
      // a fresh discovery (after a loss) deserves a prompt dial; an update waits for the timer
      if (fresh) {
        entry.backoffLevel = 0
        core.dials.clearTimer(entry)
        core.dials.enqueue(entry)
      }
      return
    case 'idle':
      // a released connection (idle, evicted) is dialed again when used, not on a hint
      if (entry.released !== true) core.dials.enqueue(entry)
  }
}

/**
 * Discovery lost a peer: a live connection or a dial in flight stays, anything else is forgotten. @internal
 */
export function onLost<C extends RegistryConnection>(
  core: RegistryCore<C>,
  id: string,
  source: string,
  reason: string,
): void {
  const entry = core.peers.get(id)
  if (entry === undefined) return
  if (entry.discovered) core.emit('peer:member-lost', { id, name: entry.name, source, reason })
  entry.discovered = false
  for (const a of entry.addresses) a.sources = []
  // a live connection stays until the transport's liveness closes it; a dial in flight finishes
  if (entry.state === 'connected' || entry.state === 'dialing') return
  core.log.debug('lost peer forgotten', { id: shortId(id) })
  core.forget(entry, 'lost')
}

/**
 * `id` became trusted: treated as discovered when discovery knows it; a source without `get(id)`
 * has the whole trust list applied again (`refresh`). @internal
 */
export function onTrustAdded<C extends RegistryConnection>(
  core: RegistryCore<C>,
  id: string,
  refresh: () => void,
): void {
  if (!core.started() || !core.isTrusted(id) || core.peers.has(id)) return
  const record = core.cfg.discovery?.get?.(id)
  if (record !== undefined) {
    onDiscovered(core, record, record.source, true)
    return
  }
  if (typeof core.cfg.discovery?.get !== 'function') refresh()
}

/** `id` is no longer trusted: disconnected and forgotten. @internal */
export function untrust<C extends RegistryConnection>(core: RegistryCore<C>, id: string): void {
  const entry = core.peers.get(id)
  if (entry === undefined) return
  core.log.info('peer no longer trusted: disconnecting', { id: shortId(id) })
  core.forget(entry, 'untrusted')
}

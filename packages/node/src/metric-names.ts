// Names, units and descriptions of the node's instruments (see the README, "Metrics").
import type { DiscoveryBackend } from '@peer/discovery-core'
import type { PeerRegistryStats } from '@peer/registry'
import type { NodeCounters } from './types.js'

/** An instrument observed from one numeric field of a stats snapshot. */
export interface StatInstrument<S> {
  readonly key: keyof S & string
  readonly name: string
  readonly unit: string
  readonly description: string
}

const stat = <S>(
  key: keyof S & string,
  name: string,
  unit: string,
  description: string,
): StatInstrument<S> => ({
  key,
  name,
  unit,
  description,
})

/** Observable counters read from `node.stats`. */
export const NODE_COUNTERS: ReadonlyArray<StatInstrument<NodeCounters>> = [
  stat(
    'messagesSent',
    'peer.node.messages.sent',
    '{message}',
    'Envelopes handed to the transport (messages, requests, answers, pings).',
  ),
  stat('messagesReceived', 'peer.node.messages.received', '{message}', 'Valid envelopes received.'),
  stat(
    'messagesDropped',
    'peer.node.messages.dropped',
    '{message}',
    'Messages accepted by send and never confirmed delivered because their connection ended.',
  ),
  stat(
    'malformed',
    'peer.node.messages.malformed',
    '{message}',
    'Frames that were not valid envelopes (dropped).',
  ),
  stat(
    'unexpected',
    'peer.node.messages.unexpected',
    '{message}',
    'Answers to no request in flight (dropped).',
  ),
  stat(
    'unhandled',
    'peer.node.messages.unhandled',
    '{message}',
    'Messages for a topic with no handler (dropped).',
  ),
  stat('bytesSent', 'peer.node.bytes.sent', 'By', 'Encoded bytes sent.'),
  stat(
    'bytesReceived',
    'peer.node.bytes.received',
    'By',
    'Encoded bytes received (including malformed frames).',
  ),
  stat(
    'rejected',
    'peer.node.peers.rejected',
    '{peer}',
    'Untrusted node ids refused (registry or transport).',
  ),
  stat(
    'handlerErrors',
    'peer.node.handler.errors',
    '{error}',
    'Handlers that threw (messages, requests and byte streams).',
  ),
  stat('protocolErrors', 'peer.node.protocol.errors', '{error}', 'Protocol errors of peers.'),
  stat('peersUp', 'peer.node.peers.up', '{event}', 'peer:up events.'),
  stat('peersDown', 'peer.node.peers.down', '{event}', 'peer:down events.'),
]

/** Observable counters read from the peer registry's `stats`. */
export const REGISTRY_COUNTERS: ReadonlyArray<StatInstrument<PeerRegistryStats>> = [
  stat('dials', 'peer.registry.dials', '{dial}', 'Dials started (one per attempt).'),
  stat(
    'dialFailures',
    'peer.registry.dial.failures',
    '{dial}',
    'Dial attempts that failed on every address.',
  ),
  stat(
    'dialTimeouts',
    'peer.registry.dial.timeouts',
    '{dial}',
    'Single-address dials that hit the dial timeout.',
  ),
  stat(
    'pinMismatches',
    'peer.registry.dial.pin_mismatches',
    '{dial}',
    'Dials whose remote proved another id than the one pinned.',
  ),
  stat(
    'connects',
    'peer.registry.connections.opened',
    '{connection}',
    'Connections adopted (both directions).',
  ),
  stat('disconnects', 'peer.registry.connections.closed', '{connection}', 'Adopted connections that closed.'),
  stat(
    'duplicatesClosed',
    'peer.registry.connections.duplicate',
    '{connection}',
    'Connections closed because the peer already had one (simultaneous dials).',
  ),
  stat(
    'replaced',
    'peer.registry.connections.replaced',
    '{connection}',
    'Live connections swapped for a newer one.',
  ),
  stat(
    'idConflicts',
    'peer.registry.id_conflicts',
    '{connection}',
    'Inbound connections replaced by inbound ones, 3 or more within 30 s: two live nodes using one id.',
  ),
  stat(
    'rejected',
    'peer.registry.peers.rejected',
    '{peer}',
    'Untrusted ids seen (discovery events and inbound connections).',
  ),
  stat(
    'overflowDrops',
    'peer.registry.overflow_drops',
    '{peer}',
    'Discoveries or inbound connections dropped because the peer map was full.',
  ),
  stat(
    'slowDials',
    'peer.registry.dials.slow',
    '{dial}',
    'Dials unanswered after 1 s, which freed their slot (peers that are down, or lossy paths).',
  ),
  stat(
    'listenerErrors',
    'peer.registry.listener.errors',
    '{error}',
    'Registry event listeners that threw (isolated).',
  ),
]

/** `peer.lost.reason` values; any other reason is reported as `other` (bounded cardinality). */
export const LOST_REASONS: ReadonlySet<string> = new Set([
  'withdrawn',
  'expired',
  'removed',
  'unreachable',
  'stale',
])

/** Buckets of `peer.node.request.duration`, seconds (0.5 ms to 30 s). */
export const REQUEST_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/** Buckets of the time-to-discover and time-to-lost histograms, seconds (10 ms to 10 min). */
export const DISCOVERY_TIME_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600]

/** Fields of backend-specific stats that are levels, not totals (observed as up-down counters). */
const LEVELS = new Set(['cacheEntries'])

/** One field of a backend's own stats snapshot. */
export interface BackendStat {
  readonly path: string[]
  readonly kind: 'counter' | 'updown'
  readonly name: string
  readonly unit: string
  readonly description: string
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
const sanitize = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]/g, '_')

/**
 * A backend's own counters beyond the common ones, by convention the getter `<source>Stats`
 * (`dnsStats`, `mdnsStats`, `etcdStats`): every numeric field (nested objects flattened) becomes
 * `peer.discovery.<source>.<field_in_snake_case>`. `undefined` when the backend has none.
 */
export function backendStatInstruments(
  backend: DiscoveryBackend,
): { read: (b: DiscoveryBackend) => unknown; stats: BackendStat[] } | undefined {
  const getter = `${backend.source}Stats`
  const read = (b: DiscoveryBackend) => (b as unknown as Record<string, unknown>)[getter]
  let snapshot: unknown
  try {
    snapshot = read(backend)
  } catch {
    return undefined
  }
  if (typeof snapshot !== 'object' || snapshot === null) return undefined
  const stats: BackendStat[] = []
  const walk = (value: object, path: string[]) => {
    for (const [key, v] of Object.entries(value)) {
      if (stats.length >= 100) return
      if (typeof v === 'number') {
        const full = [...path, key]
        const level = LEVELS.has(key)
        stats.push({
          path: full,
          kind: level ? 'updown' : 'counter',
          name: `peer.discovery.${sanitize(backend.source)}.${full.map(snake).join('.')}`,
          unit: '1',
          description: `${backend.source} backend: ${full.join('.')} (from ${getter}).`,
        })
      } else if (typeof v === 'object' && v !== null && path.length < 2) walk(v, [...path, key])
    }
  }
  walk(snapshot, [])
  return stats.length === 0 ? undefined : { read, stats }
}

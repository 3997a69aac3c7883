import { formatHostPort } from '@peer/discovery-core'
import type { LaneInfo, NodeStats, PeerNode, PeerStats } from '@peer/node'

/** One address of a peer with the discovery sources that reported it. */
export interface StatusAddress {
  /** The address as `host:port` (`[v6]:port` for IPv6). */
  address: string
  /** The discovery sources that reported it (`static`, `mdns`, ...). */
  sources: string[]
  /** Why the last dial to this address failed; `undefined` when it has not failed. */
  lastError?: string | undefined
}

/** One peer in a {@link StatusSnapshot}: what the registry knows, plus the link when it is up. */
export interface StatusPeer {
  /** The peer's node id. */
  id: string
  /** The peer's name (announced in its `hello`, else from discovery), when known. */
  name?: string | undefined
  /** Registry state (`connected`, `dialing`, `backoff`, ...); `up` is true once messages flow. */
  state: string
  /** True while the peer is up on this node (listed by `node.peers()`). */
  up: boolean
  /** True while discovery reports the peer. */
  discovered: boolean
  /** Who dialed the live connection: `outbound` when this node did, else `inbound`; `undefined` with none. */
  direction?: string | undefined
  /** The connection's remote address, when connected. */
  remoteAddress?: string | undefined
  /** The addresses the registry dials, most preferred first (empty for a link it no longer tracks). */
  addresses: StatusAddress[]
  /** Round-trip time in ms (last ping, else the transport's smoothed RTT). */
  rttMs?: number | undefined
  /** When the peer came up (ms since the epoch); `undefined` while it is not up. */
  upSince?: number | undefined
  /** Failed dials since the last successful connection. */
  dialAttempts: number
  /** Dials started for this peer in all. */
  totalDials: number
  /** When the next dial is due (ms since the epoch), in state `backoff` or `departed`; else `undefined`. */
  nextDialAt?: number | undefined
  /** The last dial error or disconnect reason; cleared when a connection is adopted. */
  lastError?: string | undefined
  /** The lanes open on the connection (lane 0 is the control lane); empty while the peer is not up. */
  lanes: LaneInfo[]
  /** The link's counters (a copy); `undefined` while the peer is not up. */
  stats?: PeerStats | undefined
}

/** Counters of one discovery backend (validation drops, map overflow drops, errors). */
export interface StatusBackend {
  /** The backend's source label (`static`, `dns`, `mdns`, `etcd`, ...). */
  source: string
  /** The numeric fields of the backend's `stats` (`invalidRecords`, `overflowDrops`, `errors`, ...). */
  stats: Record<string, number>
  /**
   * The backend's last error since the node started (`Discovery.lastErrors`), if it had one, and
   * when it first worked again after it (`recoveredAt`), if it has.
   */
  lastError?: { message: string; at: number; recoveredAt?: number | undefined } | undefined
}

/** What `peer status` receives from a running `peer start`. */
export interface StatusSnapshot {
  /**
   * The node: id, name, bound `address` and announced `addresses` (`host:port`), state, process
   * id, `startedAt` (ms since the epoch, when its control socket opened), `uptimeMs` since then
   * and the `peer` version.
   */
  node: {
    id: string
    name: string
    address: string
    addresses: string[]
    state: string
    pid: number
    startedAt: number
    uptimeMs: number
    version: string
  }
  /** The node-wide counters (`node.stats`). */
  stats: NodeStats
  /** The numeric counters of the peer registry (`node.registryStats`); empty without a registry. */
  registry: Record<string, number>
  /** The aggregate discovery's counters and each backend's; `undefined` when the node runs no discovery. */
  discovery: { stats: Record<string, number>; backends: StatusBackend[] } | undefined
  /** Every peer the registry tracks, plus links it no longer lists, sorted by name (else id). */
  peers: StatusPeer[]
  /**
   * Peers discovery reports whose ids are not trusted, so never dialed (the registry does not
   * track them): the first 32 by name (else id), and how many in all.
   * `undefined` with `trust: 'all'` or without discovery.
   */
  untrusted?:
    | {
        count: number
        peers: Array<{ id: string; name?: string | undefined; addresses: string[]; sources: string[] }>
      }
    | undefined
}

/** Most untrusted discovered peers a status lists (it counts them all). */
export const MAX_UNTRUSTED_LISTED = 32

/** The numeric fields of a counters object (backends may keep more than the shared ones). */
function numbers(value: object | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(value ?? {})) if (typeof v === 'number') out[k] = v
  return out
}

/** Builds the status snapshot of a running node (read-only: it changes nothing). */
export function statusSnapshot(node: PeerNode, info: { startedAt: number; version: string }): StatusSnapshot {
  const up = new Map(node.peers().map((p) => [p.id, p]))
  const peers: StatusPeer[] = []
  const seen = new Set<string>()
  for (const known of node.knownPeers()) {
    seen.add(known.id)
    const link = up.get(known.id)
    const remote = known.remoteAddress ?? link?.address
    peers.push({
      id: known.id,
      name: link?.name ?? known.name,
      state: known.state,
      up: link !== undefined,
      discovered: known.discovered,
      direction: link?.direction ?? known.direction,
      remoteAddress: remote === undefined ? undefined : formatHostPort(remote.host, remote.port),
      addresses: known.addresses.map((a) => ({
        address: formatHostPort(a.host, a.port),
        sources: [...a.sources],
        ...(a.lastError === undefined ? {} : { lastError: a.lastError }),
      })),
      rttMs: link?.stats.rtt ?? known.rtt,
      upSince: link?.upSince,
      dialAttempts: known.dialAttempts,
      totalDials: known.totalDials,
      nextDialAt: known.nextDialAt,
      lastError: known.lastError,
      lanes: link === undefined ? [] : [...link.lanes],
      stats: link === undefined ? undefined : { ...link.stats },
    })
  }
  // a link the registry no longer lists (it is being torn down) still shows
  for (const link of up.values()) {
    if (seen.has(link.id)) continue
    peers.push({
      id: link.id,
      name: link.name,
      state: 'connected',
      up: true,
      discovered: false,
      direction: link.direction,
      remoteAddress: formatHostPort(link.address.host, link.address.port),
      addresses: [],
      rttMs: link.stats.rtt,
      upSince: link.upSince,
      dialAttempts: 0,
      totalDials: 0,
      lanes: [...link.lanes],
      stats: { ...link.stats },
    })
  }
  peers.sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id))
  const discovery = node.discovery
  const trust = node.trust
  const strangers =
    discovery === undefined || trust === undefined
      ? undefined
      : discovery
          .snapshot()
          .filter((r) => !trust.has(r.id))
          .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id))
  return {
    node: {
      id: node.id,
      name: node.name,
      address: formatHostPort(node.address.host, node.address.port),
      addresses: node.addresses.map((a) => formatHostPort(a.host, a.port)),
      state: node.state,
      pid: process.pid,
      startedAt: info.startedAt,
      uptimeMs: Date.now() - info.startedAt,
      version: info.version,
    },
    stats: { ...node.stats },
    registry: numbers(node.registryStats),
    discovery:
      discovery === undefined
        ? undefined
        : {
            stats: numbers(discovery.stats),
            backends: discovery.backends.map((b) => {
              const last = discovery.lastErrors().find((e) => e.source === b.source)
              return {
                source: b.source,
                stats: numbers(b.stats),
                ...(last === undefined
                  ? {}
                  : {
                      lastError: {
                        message: last.error.message,
                        at: last.at,
                        ...(last.recoveredAt === undefined ? {} : { recoveredAt: last.recoveredAt }),
                      },
                    }),
              }
            }),
          },
    peers,
    untrusted:
      strangers === undefined
        ? undefined
        : {
            count: strangers.length,
            peers: strangers.slice(0, MAX_UNTRUSTED_LISTED).map((r) => ({
              id: r.id,
              name: r.name,
              addresses: r.addresses.map((a) => formatHostPort(a.host, a.port)),
              sources: [...r.sources],
            })),
          },
  }
}

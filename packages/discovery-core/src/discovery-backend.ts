import type { AbortOptions } from './abort.js'
import type { LocalPeer, PeerRecord } from './peer-record.js'
import type { TypedEventTarget } from './typed-event-target.js'

/**
 * What a backend can do, so callers and the compliance kit know what to expect.
 * - `announce`: `announce(self)` / `withdraw()` make this node visible to (or hidden from) other
 *   instances of the backend.
 * - `list`: `list()` returns every peer the backend currently knows.
 * - `watch`: the backend emits `peer:discovered` / `peer:lost` as the world changes.
 * - `expiry`: records expire by themselves (TTL, lease, cache) and produce `peer:lost`.
 */
export type DiscoveryCapability = 'announce' | 'list' | 'watch' | 'expiry'

/** Payload of `peer:discovered` and `peer:updated`. */
export interface PeerDiscoveredDetail {
  /** The peer's record as now known (for `Discovery`, the record merged across its sources). */
  readonly record: PeerRecord
  /** The `source` of the backend whose report caused the event. */
  readonly source: string
}

/** Why a peer was lost. */
export type PeerLostReason = 'withdrawn' | 'expired' | 'removed' | 'unreachable' | 'stale' | (string & {})

/** Payload of `peer:lost`: the last record known and why it went away. */
export interface PeerLostDetail {
  /** The last record known for the peer. */
  readonly record: PeerRecord
  /** The `source` of the backend that lost the peer (for `Discovery`, the last source to lose it). */
  readonly source: string
  /** Why the peer was lost (`withdrawn`, `expired`, `removed`, ...), as that backend says. */
  readonly reason: PeerLostReason
}

/** Payload of `discovery:error`: a non-fatal backend failure (the backend keeps running). */
export interface DiscoveryErrorDetail {
  /** The failure; a thrown value that is not an `Error` is wrapped in one. */
  readonly error: Error
  /** The `source` of the backend that failed. */
  readonly source: string
}

/** Events every discovery backend (and the aggregate `Discovery`) emits. */
export interface DiscoveryEvents {
  /** First time a peer is seen (after start, or after it was lost). */
  'peer:discovered': CustomEvent<PeerDiscoveredDetail>
  /** A known peer's record changed (new addresses, name or meta). */
  'peer:updated': CustomEvent<PeerDiscoveredDetail>
  /** A known peer went away. */
  'peer:lost': CustomEvent<PeerLostDetail>
  /** A transient, non-fatal failure (a timed-out query, an unreachable server). */
  'discovery:error': CustomEvent<DiscoveryErrorDetail>
}

/** Counters every backend keeps; they only grow. */
export interface DiscoveryStats {
  /** Records dropped because they failed validation. */
  invalidRecords: number
  /** Records dropped because the peer map was full. */
  overflowDrops: number
  /** Listener calls that threw (and were isolated). */
  listenerErrors: number
  /** Failures reported with `discovery:error` (counted also outside `start`..`stop`, with no event). */
  errors: number
  /**
   * Service names dropped from records' `meta.services` lists because they were not of the
   * grammar (`isServiceName`); each distinct list of a peer counted once. Backends built on
   * `AbstractDiscoveryBackend` drop and count them for every record they report; optional for
   * other backends.
   */
  droppedServiceNames?: number
  /**
   * Whole `meta.services` lists dropped (too long, more than `MAX_SERVICES` names, not a string);
   * each distinct list of a peer counted once. As {@link DiscoveryStats.droppedServiceNames}.
   */
  droppedServiceLists?: number
}

/**
 * The discovery behaviour. A backend finds peers in one place (a static list, DNS, mDNS, etcd, or
 * your own registry) and reports them as events and answers.
 *
 * Contract (checked by `@peer/discovery-compliance`):
 * - `start()` and `stop()` are idempotent, `stop()` before `start()` is a no-op, a stopped backend
 *   can be started again, and `[Symbol.asyncDispose]` stops it;
 * - no event is emitted before `start()` is called or after `stop()` is called;
 * - a peer is reported once with `peer:discovered` until it is lost; the node itself (the id given
 *   to `announce` or to the backend's `self` option) is never reported;
 * - records read from the network are validated; invalid ones are counted and dropped; bad names
 *   in a `meta.services` list are dropped and counted in `stats.droppedServiceNames` /
 *   `droppedServiceLists` (`AbstractDiscoveryBackend` does both);
 * - every async method takes `{ signal }` and rejects with an error named `AbortError` when aborted.
 */
export interface DiscoveryBackend extends TypedEventTarget<DiscoveryEvents> {
  /** Source label put on every record (`static`, `dns`, `mdns`, `etcd`, ...). */
  readonly source: string
  /** What this backend can do. */
  readonly capabilities: ReadonlySet<DiscoveryCapability>
  /** True between a successful `start()` and the next `stop()`. */
  readonly started: boolean
  /** Counters. */
  readonly stats: Readonly<DiscoveryStats>

  /**
   * Starts finding peers; events may be emitted from now until `stop()`. Idempotent; a stopped
   * backend can be started again. Rejects with an `AbortError` when `options.signal` aborts.
   */
  start(options?: AbortOptions): Promise<void>
  /**
   * Stops the backend and releases what it holds; no event is emitted once it is called.
   * Idempotent, and a no-op before `start()`. Whether a `start()` still in progress is cancelled or
   * awaited is up to the implementation: `AbstractDiscoveryBackend` cancels it, `Discovery` waits.
   */
  stop(options?: AbortOptions): Promise<void>
  /** Stops the backend, as `stop()` does; for `await using`. */
  [Symbol.asyncDispose](): Promise<void>

  /** Publishes this node (capability `announce`). Calling it again replaces the announcement. */
  announce?(self: LocalPeer, options?: AbortOptions): Promise<void>
  /** Removes this node's announcement (capability `announce`). A no-op when not announced. */
  withdraw?(options?: AbortOptions): Promise<void>

  /** Finds one peer by node id or node name; `undefined` when it is not known. */
  lookup(nameOrId: string, options?: AbortOptions): Promise<PeerRecord | undefined>
  /** Every peer currently known (capability `list`). */
  list?(options?: AbortOptions): Promise<PeerRecord[]>
}

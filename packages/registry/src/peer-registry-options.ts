// The options of a PeerRegistry and of its stop().
import type { LoggerFactory } from '@peer/discovery-core'
import type { BackoffOptions } from './backoff.js'
import type { PeerSource, RegistryConnection, RegistryTransport, TrustStore } from './interfaces.js'

/**
 * Options of `PeerRegistry`, checked by its constructor: an invalid one throws
 * `RegistryConfigError` (counts and `dialTimeoutMs`, `departedHoldMs`, `stopTimeoutMs` must be
 * positive integers; `stableAfterMs`, `simultaneousWindowMs`, `probeAttemptMs` and the backoff
 * delays may be 0).
 */
export interface PeerRegistryOptions<C extends RegistryConnection = RegistryConnection> {
  /**
   * This node's id: never dialed, and the tie-breaker of simultaneous dials. A malformed id makes
   * the constructor throw `InvalidNodeIdError` (from `@peer/discovery-core`).
   */
  self: string
  /** Dials peers (`@peer/transport-quic`'s transport, or anything meeting the interface). */
  transport: RegistryTransport<C>
  /** The trust list, or a predicate (then call `refreshTrust()` after it changes). */
  trust: TrustStore | ((id: string) => boolean)
  /** Where peers come from: the aggregate `Discovery`, or any backend. Optional (inbound only). */
  discovery?: PeerSource | undefined
  /** Most peers tracked at once. Default 1024. */
  maxPeers?: number
  /**
   * Most dials in flight at once; further peers wait in state `queued`. A dial unanswered after
   * 1 s frees its slot and goes on as a slow dial (at most 16 per slot), so peers that are down
   * do not keep the ones that are up waiting. Default 8.
   */
  maxConcurrentDials?: number
  /** Time limit of one dial to one address, in ms: a positive integer. Default 10,000. */
  dialTimeoutMs?: number
  /**
   * Deprecated name of {@link PeerRegistryOptions.dialTimeoutMs} (same unit), accepted for one
   * minor version with a one-time deprecation warning.
   * @deprecated Use `dialTimeoutMs`.
   */
  dialTimeout?: number
  /**
   * Redial backoff (`initialDelayMs`, `maxDelayMs`, `jitter`, `random`). Defaults: 500 ms
   * doubling to 30 s, half of each delay jittered.
   */
  backoff?: BackoffOptions
  /**
   * A connection that lived at least this long (ms) resets the backoff when it closes, so a peer
   * that keeps dropping right after connecting is redialed ever more slowly. Default 10,000.
   */
  stableAfterMs?: number
  /**
   * Deprecated name of {@link PeerRegistryOptions.stableAfterMs} (same unit), accepted for one
   * minor version with a one-time deprecation warning.
   * @deprecated Use `stableAfterMs`.
   */
  stableAfter?: number
  /**
   * An inbound connection arriving within this many ms of the live connection's adoption is
   * treated as the other half of a simultaneous dial (keep the one dialed by the lower id); a
   * later one replaces the live connection (the remote evidently lost it). Default 2,000.
   */
  simultaneousWindowMs?: number
  /**
   * Deprecated name of {@link PeerRegistryOptions.simultaneousWindowMs} (same unit), accepted for
   * one minor version with a one-time deprecation warning.
   * @deprecated Use `simultaneousWindowMs`.
   */
  simultaneousWindow?: number
  /** Most addresses kept per peer. Default 16. */
  maxAddressesPerPeer?: number
  /**
   * A peer that closed its connection saying `shutdown` (it is stopping) is not redialed until
   * discovery reports it again (`peer:discovered` or `peer:updated`) or an inbound connection
   * arrives, or at most this many ms (then it is redialed as usual while still discovered).
   * Default 15,000.
   */
  departedHoldMs?: number
  /** How long `stop()` waits for the connections it closes to report closed, in ms. Default 2,000. */
  stopTimeoutMs?: number
  /**
   * A peer this registry was connected to before (its connection lost to an idle timeout or error,
   * closed by either side, or released as unused) is dialed in attempts cut after this many ms (or
   * 4 round-trip times of its last connection, if longer) and started afresh, one after the other
   * until `dialTimeoutMs`, so a peer that comes back (a healed partition, a process resumed after a
   * pause, a restart) is found within about this long instead of after the handshake's
   * retransmission backoff (a dial started while the peer could not answer kept it for the rest of
   * `dialTimeoutMs`, and with `connect: 'on-demand'` every call to the peer waited for that dial).
   * A peer never connected is dialed in attempts of three times this length (its handshake may
   * take longer: nothing is known of its path). For the first 60 s after a loss the backoff between
   * redials is capped at this length too. 0 turns probing off (one attempt per dial). Default 1,000.
   */
  probeAttemptMs?: number
  /**
   * When to connect: `mesh` (default) dials every trusted member as soon as discovery reports it
   * and redials it when the connection drops; `on-demand` records members and dials one only when
   * {@link PeerRegistry.ensureConnected} asks for it, and never redials by itself.
   */
  connect?: ConnectPolicy
  /**
   * Most open connections (both directions). A new one over the cap makes the registry ask
   * `evictIdle` for an idle connection to close; when there is none, an inbound connection is
   * closed with reason `connection cap` (counted in `stats.refusedOverCap`) and a dial fails with
   * `ConnectionCapError` (its connection is closed, and the peer is not redialed by itself).
   * Default: no cap.
   */
  maxConnections?: number
  /**
   * Called when a new connection would exceed `maxConnections`: return the id of an open,
   * idle connection to close for it (the registry closes it with reason `evicted`, without a
   * redial), or `undefined` when none may be closed. Default: nothing is ever evicted.
   */
  evictIdle?: () => string | undefined
  /** Logger factory; silent by default. Namespace `peer:registry:peers`. */
  logger?: LoggerFactory
}

/** When the registry connects to members: see {@link PeerRegistryOptions.connect}. */
export type ConnectPolicy = 'mesh' | 'on-demand'

/** Options of `PeerRegistry.ensureConnected`. */
export interface EnsureConnectedOptions {
  /** Stops waiting (the dial goes on for other callers) when it aborts. */
  signal?: AbortSignal | undefined
  /** Longest wait in ms. Default: the registry's `dialTimeoutMs` times the peer's address count. */
  timeoutMs?: number | undefined
}

/** Options of `PeerRegistry.start`. */
export interface RegistryStartOptions {
  /**
   * Cancels the start: an aborted signal (before or while discovery's known peers are listed)
   * makes `start()` reject with an `AbortError` and leaves the registry stopped, with nothing
   * subscribed or dialed.
   */
  signal?: AbortSignal | undefined
}

/** Options of `PeerRegistry.stop`. */
export interface RegistryStopOptions {
  /** How long to wait for the closed connections to report closed, in ms. Default: `stopTimeoutMs`. */
  timeoutMs?: number
  /**
   * Stops waiting for the connections to report closed when it aborts (at once when already
   * aborted). The teardown itself is never cut short: dials are cancelled, every connection is
   * closed and every peer forgotten before `stop()` looks at the signal, so an aborted stop
   * still leaves the registry fully stopped and resolves (it does not reject).
   */
  signal?: AbortSignal
}

import type { ConnectionDirection, RegistryConnection } from './interfaces.js'

/** Payload of `peer:connected`. */
export interface PeerConnectedDetail {
  /** The peer's node id. */
  readonly id: string
  /**
   * Which side opened the connection: `outbound` when the registry dialed it, `inbound` when it
   * came in through {@link PeerRegistry.accept}.
   */
  readonly direction: ConnectionDirection
  /** The peer's live connection from now on (what {@link PeerRegistry.connection} returns). */
  readonly connection: RegistryConnection
}

/**
 * Why a peer was disconnected: one of the registry's own (`shutdown` on `stop()`, `untrusted` when
 * trust was withdrawn, `idle` / `evicted` from {@link PeerRegistry.release}), or the transport's.
 */
export type DisconnectReason = 'untrusted' | 'shutdown' | 'idle' | 'evicted' | (string & {})

/** Payload of `peer:disconnected`. */
export interface PeerDisconnectedDetail {
  /** The peer's node id. */
  readonly id: string
  /**
   * Why the connection ended: the reason its `closed` promise settled with (a string, an error's
   * message, or the `reason` of a close info such as `@peer/transport-quic`'s, else its `by`;
   * `closed` when it gave none), or the registry's own when it closed the connection itself
   * (`shutdown` on `stop()`, `untrusted` when trust was withdrawn, `idle` / `evicted` from
   * {@link PeerRegistry.release}).
   */
  readonly reason: DisconnectReason
  /** Which side had opened the connection that ended. */
  readonly direction: ConnectionDirection
}

/** Payload of `peer:rejected`: an id that is not trusted showed up, and was not dialed or was closed. */
export interface PeerRejectedDetail {
  /** The node id that is not trusted. */
  readonly id: string
  /** The discovery source that reported it, or `inbound` for an inbound connection. */
  readonly source: string
  /** Always `untrusted`: the trust store does not trust `id`. */
  readonly reason: 'untrusted'
}

/** Payload of `peer:dial-failed`. */
export interface PeerDialFailedDetail {
  /** The peer's node id. */
  readonly id: string
  /** Failed dials in a row, including this one. */
  readonly attempt: number
  /**
   * Why: the address's error when one address was tried (a `DialTimeoutError`, a
   * `PeerIdMismatchError` or the transport's error: `PinningError`, `UntrustedPeerError`, ...);
   * an `AggregateError` whose `errors` are each address's, in dial order, and whose message names
   * them all, when several were; a `RegistryError` when the peer had no address to dial.
   */
  readonly error: Error
  /** Delay before the next dial in ms, when one is scheduled. */
  readonly retryIn?: number | undefined
}

/** Payload of `peer:connection-replaced`. */
export interface PeerConnectionReplacedDetail extends PeerConnectedDetail {
  /**
   * The connection that was live until now; it is being closed with reason `duplicate` (`stalled`
   * when a {@link PeerRegistry.probeStalled} dial replaced it).
   */
  readonly previous: RegistryConnection
}

/** Payload of `peer:member`: a trusted peer was discovered (it was not a member before). */
export interface PeerMemberDetail {
  /** The peer's node id. */
  readonly id: string
  /** The peer's name as discovery last reported it; `undefined` when no record carried one. */
  readonly name: string | undefined
  /** The discovery source that reported it first. */
  readonly source: string
}

/**
 * Payload of `peer:member-lost`: discovery lost the last record of a member. Here `source` is the
 * discovery source whose loss reported it.
 */
export interface PeerMemberLostDetail extends PeerMemberDetail {
  /** Discovery's reason (`expired`, `withdrawn`, `stale`, ...). */
  readonly reason: string
}

/** Events of a `PeerRegistry`. */
export interface PeerRegistryEvents {
  /**
   * A peer that had no connection got one: a dial of the registry succeeded, or
   * {@link PeerRegistry.accept} adopted an inbound connection.
   */
  'peer:connected': CustomEvent<PeerConnectedDetail>
  /**
   * The live connection was swapped for another one without a disconnect (the other half of a
   * simultaneous dial won, the remote redialed, or {@link PeerRegistry.probeStalled} replaced a
   * stalled one): use `connection` from now on.
   */
  'peer:connection-replaced': CustomEvent<PeerConnectionReplacedDetail>
  /**
   * A peer's live connection ended: it closed (by either side, or by the transport on an idle
   * timeout or error), it was released ({@link PeerRegistry.release}), or the registry closed it
   * (trust withdrawn, `stop()`). Not emitted when the connection is swapped for another one
   * (`peer:connection-replaced`).
   */
  'peer:disconnected': CustomEvent<PeerDisconnectedDetail>
  /**
   * An untrusted id showed up, from discovery (each report of it) or as an inbound connection: it
   * is not dialed, and its inbound connection is closed with reason `untrusted`.
   */
  'peer:rejected': CustomEvent<PeerRejectedDetail>
  /**
   * A dial of a peer failed on every address it tried (once per dial, not per address). Not
   * emitted for a dial cancelled on purpose (an inbound connection won, trust withdrawn, a stop).
   */
  'peer:dial-failed': CustomEvent<PeerDialFailedDetail>
  /** A trusted peer became a member (discovery reported it; connected or not). */
  'peer:member': CustomEvent<PeerMemberDetail>
  /** A member is gone as far as discovery knows (its connection, if any, stays until it closes). */
  'peer:member-lost': CustomEvent<PeerMemberLostDetail>
}

/** Counters of a `PeerRegistry`; they only grow. */
export interface PeerRegistryStats {
  /** Untrusted ids seen (discovery events and inbound connections). */
  rejected: number
  /** Dials started (one per attempt, whatever the number of addresses tried). */
  dials: number
  /** Dial attempts that failed on every address. */
  dialFailures: number
  /** Single-address dials that hit the dial timeout. */
  dialTimeouts: number
  /** Dials whose remote proved another id than the one pinned (a transport that does not pin). */
  pinMismatches: number
  /** Connections adopted (both directions). */
  connects: number
  /** Adopted connections that closed. */
  disconnects: number
  /** Connections closed because the peer already had one (simultaneous dials). */
  duplicatesClosed: number
  /** Times the live connection was swapped for a newer one (`peer:connection-replaced`). */
  replaced: number
  /**
   * Inbound connections replaced by inbound ones, the third or later within 30 s: two live nodes
   * using one id (a copied identity) replacing each other's connection, or a peer restarting or
   * redialing in a loop. Logged at `warn` once per peer.
   */
  idConflicts: number
  /** Discoveries or inbound connections dropped because the peer map was full. */
  overflowDrops: number
  /**
   * Dials unanswered after 1 s, which gave their slot to the next queued peer and went on as slow
   * dials: peers that are down, or paths with heavy loss.
   */
  slowDials: number
  /** Probes started for a stalled connection ({@link PeerRegistry.probeStalled}). */
  stallProbes: number
  /** Stalled connections replaced by a fresh one a probe dialed. */
  stallReplacements: number
  /** Inbound connections closed because `maxConnections` was reached and nothing could be evicted. */
  refusedOverCap: number
  /** Idle connections closed to make room under `maxConnections` (reason `evicted`). */
  evictions: number
  /** Connections closed by {@link PeerRegistry.release} (idle or evicted), without a redial. */
  released: number
  /** Listener calls that threw (and were isolated). */
  listenerErrors: number
}

import type { ConnectionDirection, RegistryConnection } from './interfaces.js'

/** Payload of `peer:connected`. */
export interface PeerConnectedDetail {
  readonly id: string
  readonly direction: ConnectionDirection
  readonly connection: RegistryConnection
}

/** Why a peer was disconnected: the transport's reason, or one of the registry's own. */
export type DisconnectReason = 'untrusted' | 'shutdown' | (string & {})

/** Payload of `peer:disconnected`. */
export interface PeerDisconnectedDetail {
  readonly id: string
  readonly reason: DisconnectReason
  readonly direction: ConnectionDirection
}

/** Payload of `peer:rejected`: an id that is not trusted showed up, and was not dialed or was closed. */
export interface PeerRejectedDetail {
  readonly id: string
  /** The discovery source that reported it, or `inbound` for an inbound connection. */
  readonly source: string
  readonly reason: 'untrusted'
}

/** Payload of `peer:dial-failed`. */
export interface PeerDialFailedDetail {
  readonly id: string
  /** Failed dials in a row, including this one. */
  readonly attempt: number
  readonly error: Error
  /** Delay before the next dial, when one is scheduled. */
  readonly retryIn?: number | undefined
}

/** Payload of `peer:connection-replaced`. */
export interface PeerConnectionReplacedDetail extends PeerConnectedDetail {
  /** The connection that was live until now; it is being closed with reason `duplicate`. */
  readonly previous: RegistryConnection
}

/** Payload of `peer:member`: a trusted peer was discovered (it was not a member before). */
export interface PeerMemberDetail {
  readonly id: string
  readonly name: string | undefined
  /** The discovery source that reported it first. */
  readonly source: string
}

/** Payload of `peer:member-lost`: discovery lost the last record of a member. */
export interface PeerMemberLostDetail extends PeerMemberDetail {
  /** Discovery's reason (`expired`, `withdrawn`, `stale`, ...). */
  readonly reason: string
}

/** Events of a `PeerRegistry`. */
export interface PeerRegistryEvents {
  'peer:connected': CustomEvent<PeerConnectedDetail>
  /**
   * The live connection was swapped for another one without a disconnect (the other half of a
   * simultaneous dial won, or the remote redialed): use `connection` from now on.
   */
  'peer:connection-replaced': CustomEvent<PeerConnectionReplacedDetail>
  'peer:disconnected': CustomEvent<PeerDisconnectedDetail>
  'peer:rejected': CustomEvent<PeerRejectedDetail>
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
  /** Discoveries or inbound connections dropped because the peer map was full. */
  overflowDrops: number
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

// What a node reports about itself and its peers: the counters of `stats`, and the snapshots
// `peers()` and `members()` return.
import type { PeerAddress } from '@peer/discovery-core'

/** Counters of one peer. Message and byte counts include every envelope (requests, answers, pings). */
export interface PeerStats {
  /** Envelopes handed to the transport for the peer. */
  messagesSent: number
  /** Envelopes received from the peer (valid ones). */
  messagesReceived: number
  /** Encoded bytes sent. */
  bytesSent: number
  /** Encoded bytes received (including malformed frames). */
  bytesReceived: number
  /** Requests sent to the peer. */
  requestsSent: number
  /** Requests received from the peer. */
  requestsReceived: number
  /** Requests (and pings) to the peer that timed out. */
  timeouts: number
  /** Requests to the peer answered with an error (remote handler error, no handler, stopping). */
  errorsReceived: number
  /** Frames from the peer that were not valid envelopes (counted and dropped). */
  malformed: number
  /** Answers from the peer to no request in flight (late or unknown ids; counted and dropped). */
  unexpected: number
  /** Messages from the peer for a topic with no handler (dropped). */
  unhandled: number
  /** Requests to the peer waiting for an answer right now. */
  inFlight: number
  /**
   * Round-trip time in ms: the last `ping` measured by this node (fractional), otherwise the
   * transport's smoothed RTT (whole ms, rounded down: 0 under 1 ms), when known.
   */
  rtt: number | undefined
  /**
   * Messages accepted by `send` (it resolved) on a connection that ended before the peer
   * confirmed handing them to a handler: lost, or (rarely) handled with the confirmation lost.
   */
  messagesDropped: number
  /**
   * Protocol errors of the peer on this connection (malformed envelopes, bad lanes or stream headers, too
   * many stream opens).
   */
  protocolErrors: number
  /** Byte streams open with the peer right now (both directions). */
  byteStreams: number
  /** Messages accepted by `send` whose delivery the peer has not confirmed yet (right now). */
  unconfirmed: number
}

/** A snapshot of one connected peer, as {@link PeerNode.peers} returns it. */
export interface PeerInfo {
  /** The peer's node id (proved in the TLS handshake). */
  readonly id: string
  /** The name the peer announced in its `hello`, or discovery's name for it. */
  readonly name: string | undefined
  /** Who dialed: `outbound` when this node did. */
  readonly direction: 'inbound' | 'outbound'
  /** The peer's address as seen from here. */
  readonly address: PeerAddress
  /** When the peer came up (ms since the epoch). */
  readonly upSince: number
  /** The peer's counters on this connection, as of the snapshot. */
  readonly stats: Readonly<PeerStats>
  /** The lanes open on the connection, in either direction (lane 0 is the control lane). */
  readonly lanes: readonly LaneInfo[]
}

/** One lane of a connection, as {@link PeerInfo.lanes} lists it. */
export interface LaneInfo {
  /** Lane index: 0 control, 1-4 `normal`, 5-6 `bulk`. */
  readonly lane: number
  /** The lane's class: `control` (lane 0: control traffic and `urgent` topics), `normal` or `bulk`. */
  readonly class: 'control' | 'normal' | 'bulk'
  /** This node opened its outgoing channel of the lane. */
  readonly out: boolean
  /** The peer opened its channel of the lane (towards this node). */
  readonly in: boolean
  /** Envelopes waiting to be written on the lane right now. */
  readonly queued: number
  /** Messages written on the lane and not acknowledged by the peer yet. */
  readonly unacked: number
}

/** The numeric counters of {@link NodeStats}. */
export type NodeCounters = Omit<NodeStats, 'engine' | 'engineFallbackReason'>

/**
 * Node-wide counters, as `PeerNode.stats` has them; they only grow. Also the transport's QUIC
 * `engine` and why it fell back, if it did.
 */
export interface NodeStats {
  /** Envelopes handed to the transport, over all peers. */
  messagesSent: number
  /** Valid envelopes received, over all peers. */
  messagesReceived: number
  /** Encoded bytes sent, over all peers. */
  bytesSent: number
  /** Encoded bytes received (including malformed frames), over all peers. */
  bytesReceived: number
  /** Frames that were not valid envelopes, over all peers (counted and dropped). */
  malformed: number
  /** Answers to no request in flight, over all peers. */
  unexpected: number
  /** Messages for topics with no handler, over all peers. */
  unhandled: number
  /** Nodes refused (`peer:rejected` events): untrusted ids, and inbound connections the listener refused. */
  rejected: number
  /**
   * Handlers that threw or rejected, on a one-way message (logged: there is no caller), a request
   * (its caller gets a `RemoteError`) or a byte stream (reset); each is a `handler:failed` event.
   */
  handlerErrors: number
  /** `peer:up` events emitted. */
  peersUp: number
  /** `peer:down` events emitted. */
  peersDown: number
  /**
   * Messages accepted by `send` and never confirmed delivered because their connection ended, over all peers.
   */
  messagesDropped: number
  /** Protocol errors over all peers (each connection is closed after `maxProtocolErrors`). */
  protocolErrors: number
  /** Inbound connections closed because `maxConnections` was reached and none was idle. */
  refusedOverCap: number
  /** Idle connections closed to make room under `maxConnections` (`peer:down` reason `evicted`). */
  evictions: number
  /** Connections closed after `idleCloseMs` without traffic (`peer:down` reason `idle`). */
  idleCloses: number
  /** Connections found stalled (see `stallTimeoutMs`), over all peers. */
  stalls: number
  /** Stalled connections replaced by a fresh one (the peer stayed up), over all peers. */
  stallRecoveries: number
  /** Liveness probes sent to suspected peers (see `probeTimeoutMs`), over all peers. */
  probes: number
  /** Probes that went unanswered: their connection was closed (`peer:down` reason `unresponsive`). */
  probeFailures: number
  /** The QUIC engine the transport runs (`quinn` or `matrixai`); undefined before `start`. */
  engine: 'quinn' | 'matrixai' | undefined
  /**
   * Why the transport fell back from the quinn engine to matrixai (the quinn binary did not load),
   * or undefined when it did not fall back. The same reason is logged at `info` on start.
   */
  engineFallbackReason: string | undefined
}

/** One member (a discovered, trusted peer), connected or not: see `PeerNode.members()`. */
export interface MemberInfo {
  /** The member's node id. */
  readonly id: string
  /** The name from its discovery records; `undefined` when none gave one. */
  readonly name: string | undefined
  /**
   * The addresses it is dialed on, most preferred first: those its discovery records announce
   * (hints, never proof of identity), then ones that worked before.
   */
  readonly addresses: readonly PeerAddress[]
  /** The discovery sources that report it. */
  readonly sources: readonly string[]
  /** Whether a connection to it is up (`peer:up` was emitted and no `peer:down` since). */
  readonly connected: boolean
  /** When this node last saw traffic with it (`Date.now()` ms), if ever. */
  readonly lastUsed: number | undefined
  /** The services its discovery record lists. */
  readonly services: readonly string[]
}

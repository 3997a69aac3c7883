import type { AbortOptions, DiscoveryBackend, LoggerFactory, PeerAddress } from '@peer/discovery-core'
import type { Identity, TrustList } from '@peer/identity'
import type { BackoffOptions } from '@peer/registry'
import type { TransportTuning } from '@peer/transport-quic'
import type { Priority } from './lanes.js'
import type { NodeMetricsOptions } from './meter-types.js'
import type { ServiceEvents } from './services.js'

/**
 * Who this node trusts: a `TrustList` from `@peer/identity` (changes apply live), or node ids.
 * `'all'` trusts every node that presents a valid certificate: for demos only, it logs a loud
 * warning (and emits a process warning `PEER_TRUST_ALL`).
 */
export type TrustOption = TrustList | Iterable<string> | 'all'

/** Options of {@link createNode}. Only `trust` is required; a bad one makes it reject (`ConfigError`). */
export interface NodeOptions {
  /**
   * The node name, `name@host` (Erlang style) or `port@ip`. A bare `name` gets `@<short host
   * name>` appended. Default, known once the listener is bound: `<port>@<announced ip>`
   * (`<port>@127.0.0.1` when listening on `localhost`, `node<port>@<host>` when the first announced
   * address is a DNS name).
   */
  name?: string
  /**
   * This node's identity: an `Identity` from `@peer/identity`, or a directory where the key pair
   * is loaded from (or created in, on first run). Default: a fresh in-memory Ed25519 identity.
   */
  identity?: Identity | string
  /** Where to listen (UDP). Default `{ host: '127.0.0.1', port: 0 }` (port 0 picks a free port). */
  listen?: { host?: string; port?: number }
  /**
   * The addresses announced to discovery. Default: the bound address, or every non-internal
   * interface address when listening on `0.0.0.0` / `::`.
   */
  announce?: readonly PeerAddress[]
  /** Discovery backends, highest priority first; the node runs them as one aggregate `Discovery`. */
  discovery?: DiscoveryBackend | readonly DiscoveryBackend[]
  /** Who may connect and who is dialed. Required: security is the default. */
  trust: TrustOption
  /** Small string metadata announced with the node. */
  meta?: Record<string, string>
  /** Default timeout of `request`, `ping`, `waitForPeer` and a dial on first use, in ms. Default 10,000. */
  requestTimeoutMs?: number
  /**
   * Same as `requestTimeoutMs` (ms).
   * @deprecated Use `requestTimeoutMs` (same unit); accepted until the next minor version.
   */
  requestTimeout?: number
  /**
   * Requests to one peer waiting for an answer at once; more fail with `TooManyRequestsError`. Default 1,024.
   */
  maxInFlightRequests?: number
  /**
   * Messages and requests from one peer being handled at once, per lane. More wait in arrival order
   * (at most `maxQueuedMessages` per lane, then reading that lane pauses); answers keep flowing. Default 256.
   */
  maxConcurrentHandlers?: number
  /**
   * Per lane: envelopes queued for one peer before `send`/`request` fail with `TooManyRequestsError`,
   * and the most messages from one peer waiting for a handler slot. Default 10,000.
   */
  maxQueuedMessages?: number
  /**
   * Largest encoded message (envelope) in bytes this node accepts, announced in `hello`; it never
   * sends a peer more than the peer announced. At least 4,096. Default 1 MiB.
   */
  maxMessageSize?: number
  /**
   * The deadline of the whole `stop()`, in ms: requests in flight and handlers get all of it but
   * the last quarter (at most 1 s of it, kept for closing) to finish, then everything is closed;
   * when it passes, `stop()` resolves whatever did not answer. Default 5,000.
   */
  stopTimeoutMs?: number
  /**
   * Same as `stopTimeoutMs` (ms).
   * @deprecated Use `stopTimeoutMs` (same unit); accepted until the next minor version.
   */
  stopTimeout?: number
  /** How long a new connection may take to exchange `hello` before it is closed, in ms. Default 10,000. */
  helloTimeoutMs?: number
  /**
   * Same as `helloTimeoutMs` (ms).
   * @deprecated Use `helloTimeoutMs` (same unit); accepted until the next minor version.
   */
  helloTimeout?: number
  /**
   * Protocol errors one peer may make on a connection (malformed envelopes, unexpected lanes, bad
   * byte stream headers, byte stream opens over the rate) before the connection is closed with the
   * transport's `PROTOCOL_ERROR` code and a reason the peer can read. Default 32.
   */
  maxProtocolErrors?: number
  /** Byte streams open with one peer at once (both directions); more are refused. Default 64. */
  maxByteStreams?: number
  /**
   * Byte streams one peer may open per second (twice that as a burst); more are reset and counted as protocol
   * errors. Default 100.
   */
  maxStreamOpensPerSecond?: number
  /**
   * How long a frame that started arriving may take to complete (time spent waiting for its bytes),
   * in ms; a peer that stalls inside a frame has its connection closed. Default 30,000.
   */
  partialFrameTimeoutMs?: number
  /**
   * Stall detection: when a connection carried nothing from the peer for this many ms while the
   * node waited for it (requests in flight, messages queued or not yet confirmed) and a ping sent
   * halfway went unanswered, the connection is stalled (a partition, typically shorter than the
   * idle timeout). The node then dials the peer afresh on its known addresses (short attempts,
   * one after the other) and, once a handshake succeeds and the old connection is still silent,
   * moves the peer to the new connection: the peer stays up, requests and unconfirmed messages on
   * the stalled connection fail with `PeerUnavailableError` reason `connection-lost` (counted in
   * `messagesDropped`), and traffic resumes within about a handshake of the path's return instead
   * of at QUIC's next retransmission (seconds under back-off). An idle connection sends nothing
   * for this. Default 2,000.
   */
  stallTimeoutMs?: number
  /**
   * Liveness probes: when discovery reports a connected member lost (`member:left`), or a `request`
   * or `ping` to a connected peer times out, the node sends one ping on the connection's control
   * lane and waits this many ms (or four round-trip times, when longer) for the answer. No answer:
   * the connection is closed and `peer:down` fires with reason `unresponsive` (requests in flight
   * fail with `PeerUnavailableError` reason `connection-lost`); an answer changes nothing, so a false
   * loss report costs one ping. At most one probe per peer is in flight. Without a suspicion
   * nothing is sent: a dead idle peer is noticed by the transport's idle timeout. Default 2,000.
   */
  probeTimeoutMs?: number
  /**
   * Bytes of messages one bulk lane may have in flight to a peer (sent, not yet handed to a
   * handler there); one message always goes. Small keeps bulk traffic from filling the path's
   * queues ahead of other topics (latency); large helps bulk throughput on long fat paths.
   * Default 1 MiB.
   */
  maxBulkBytesInFlight?: number
  /**
   * Bytes of received envelopes one `normal` or `bulk` lane decodes and dispatches in one
   * event-loop turn: past them the lane yields (`setImmediate`) before its next envelope, so the
   * control lane's frames (pings, small answers, acknowledgements) and other I/O are handled
   * between a busy lane's envelopes instead of after its whole backlog. The control lane never
   * yields. A lane always dispatches at least one envelope per turn. Default 64 KiB.
   */
  maxLaneBytesPerTurn?: number
  /**
   * Scale the bulk window with the path's lowest round-trip time: x1 per 20 ms, at most 16x (a
   * long, lossy path needs more in flight to keep bulk throughput; loopback and LAN keep the
   * configured window). Default true.
   */
  bulkWindowScaling?: boolean
  /**
   * OpenTelemetry metrics (see the README, "Metrics"). Default: the global `MeterProvider` of
   * `@opentelemetry/api` when that optional peer dependency is installed (a no-op until an SDK
   * registers one), else off. `false` turns metrics off.
   */
  metrics?: false | NodeMetricsOptions
  /** Hysteresis of the discovery aggregate (ms a lost peer is kept before `peer:lost`). Default 2,000. */
  lostHysteresisMs?: number
  /**
   * Same as `lostHysteresisMs` (ms).
   * @deprecated Use `lostHysteresisMs` (same unit); accepted until the next minor version.
   */
  lostHysteresis?: number
  /**
   * When connections are made. `mesh` (default): one connection to every trusted member, made as
   * soon as discovery reports it and redialed when it drops. `on-demand`: a member is dialed when
   * `send`, `request`, `ping` or `openStream` first uses it, and its connection is closed after
   * `idleCloseMs` without traffic (`peer:down` with reason `idle`); nothing is redialed by itself.
   */
  connect?: 'mesh' | 'on-demand'
  /**
   * `on-demand` only: close a connection after this many ms with no message, request or open
   * byte stream in either direction (checked every quarter of it). Default 60,000.
   */
  idleCloseMs?: number
  /**
   * Most open connections, inbound and outbound, with either policy. A new connection over it
   * closes the least recently used idle one (`peer:down` reason `evicted`); a connection with
   * work in flight (requests, handlers, unconfirmed or queued messages, byte streams) is never
   * evicted. When none is idle, a dial fails with `PeerUnavailableError` (`connection cap
   * reached (N)`) and an inbound connection is closed (counted in `stats.refusedOverCap`).
   * Default: no cap.
   */
  maxConnections?: number
  /** Peer registry tuning: dial timeout (ms), redial backoff, most peers tracked, departure hold, probing. */
  registry?: {
    /** Time limit of one dial to one address, in ms. Default 10,000. */
    dialTimeoutMs?: number
    /**
     * Deprecated name of `dialTimeoutMs` (same unit), accepted for one minor version with a
     * one-time deprecation warning.
     * @deprecated Use `dialTimeoutMs`.
     */
    dialTimeout?: number
    /** Redial backoff (`initialDelayMs`, `maxDelayMs`, `jitter`); default 500 ms to 30 s, jittered. */
    backoff?: BackoffOptions
    /** Most peers the registry tracks at once; more are dropped (and counted). Default 1,024. */
    maxPeers?: number
    /** Most dials in flight at once; further peers wait in state `queued`. Default 8. */
    maxConcurrentDials?: number
    /** How long a peer that said `shutdown` is not redialed unless announced again, in ms. Default 15,000. */
    departedHoldMs?: number
    /** Attempt length of the probing redials after a lost connection, in ms; 0 = off. Default 1,000. */
    probeAttemptMs?: number
  }
  /** QUIC transport tuning (idle timeout, keepalive, windows, ...). */
  transport?: TransportTuning
  /**
   * Logger factory (namespaces `peer:node`, `peer:registry:*`, `peer:transport:*`, `peer:discovery*`). Silent
   * by default.
   */
  logger?: LoggerFactory
}

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
   * Round-trip time in ms: the last `ping` measured by this node, otherwise the transport's
   * smoothed RTT, when known.
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
  /** Handlers of fire-and-forget messages that threw (the errors are logged, there is no caller). */
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

/** What a handler learns about the message it handles. */
export interface HandlerContext {
  /** The sender. */
  readonly from: { readonly id: string; readonly name: string | undefined }
  /** The topic the message or request was sent on. */
  readonly topic: string
  /** `message` for `send`, `request` for `request` (only a request's return value goes back). */
  readonly kind: 'message' | 'request'
  /** Aborted when the sender disconnects or the node stops before the handler finished. */
  readonly signal: AbortSignal
}

/**
 * Handles one topic. For a request, the returned (or resolved) value is the answer, and a thrown
 * error reaches the caller as a `RemoteError` with the error's `name`, `message` and `code`.
 */
export type Handler<In = unknown, Out = unknown> = (
  payload: In,
  context: HandlerContext,
) => Out | Promise<Out>

/** Options of {@link PeerNode.send}. */
export interface SendOptions extends AbortOptions {
  /**
   * Picks the lane (see the README, "Lanes and priorities"). Default: the priority given to
   * `handle` for this topic on this node, else `normal`. Order is kept per topic and priority.
   */
  priority?: Priority
}

/** Options of {@link PeerNode.request}. */
export interface RequestOptions extends AbortOptions {
  /** Time limit in ms, in (0, 2^31 - 1] (else `ConfigError`). Default: the node's `requestTimeoutMs`. */
  timeoutMs?: number
  /**
   * Same as `timeoutMs` (ms).
   * @deprecated Use `timeoutMs` (same unit, ms); accepted until the next minor version.
   */
  timeout?: number
  /** Picks the lane of the request, as for `send`. */
  priority?: Priority
}

/** Options of {@link PeerNode.handle}. */
export interface HandleOptions {
  /**
   * The topic's priority on this node: the lane of its answers and the default of `send` and
   * `request` on the topic. Default `normal`.
   */
  priority?: Priority
}

/** Options of {@link PeerNode.openStream}. */
export interface OpenStreamOptions extends AbortOptions {}

/** Payload of `message:dropped`. */
export interface MessageDroppedDetail {
  /** The peer's node id. */
  readonly peer: string
  /** The name the peer announced in its `hello`; `undefined` when it sent none. */
  readonly name: string | undefined
  /** The topic of the dropped messages. */
  readonly topic: string
  /** Messages of the topic accepted by `send` and never confirmed delivered. */
  readonly count: number
}

/** Options of {@link PeerNode.stop}. */
export interface StopOptions {
  /**
   * This stop's deadline in ms, (0, 2^31 - 1] (else `stop()` throws `ConfigError`). Default `stopTimeoutMs`.
   */
  timeoutMs?: number
  /**
   * Same as `timeoutMs` (ms).
   * @deprecated Use `timeoutMs` (same unit, ms); accepted until the next minor version.
   */
  timeout?: number
  /**
   * Aborting ends the stop's deadline at once: what it still waits for (requests in flight,
   * queued messages, the discovery withdrawal) is given up and everything closes. The stop still
   * resolves (it never rejects); a signal aborted before the call makes the whole stop immediate.
   */
  signal?: AbortSignal
}

/** Payload of `peer:up`. */
export interface PeerUpDetail {
  /** The peer's node id (proved in the TLS handshake). */
  readonly id: string
  /** The name the peer announced in its `hello`; `undefined` when it sent none. */
  readonly name: string | undefined
  /** Who dialed: `outbound` when this node did, `inbound` when the peer did. */
  readonly direction: 'inbound' | 'outbound'
  /** The peer's address (UDP host and port) as seen from here. */
  readonly address: PeerAddress
}

/** Payload of `peer:down`. */
export interface PeerDownDetail {
  /** The peer's node id. */
  readonly id: string
  /** The name the peer announced in its `hello`; `undefined` when it sent none. */
  readonly name: string | undefined
  /**
   * Why: `shutdown` when this node or the peer stopped; `idle` or `evicted` when this node or the
   * peer closed the connection as unused (the peer is still a member, dialed again when used);
   * `unresponsive` when the peer did not answer a liveness probe (see `probeTimeoutMs`) and this
   * node closed the connection, or the peer closed it so; otherwise the connection's close reason
   * (e.g. `no packets from the peer within the idle timeout`, or the reason the peer sent).
   */
  readonly reason: string
}

/** Payload of `member:joined`. */
export interface MemberJoinedDetail {
  /** The member's node id. */
  readonly id: string
  /** The name from its discovery record; `undefined` when no record gave one. */
  readonly name: string | undefined
  /** The discovery source that reported it first. */
  readonly source: string
}

/** Payload of `member:left`; `source` is the discovery source whose loss reported it. */
export interface MemberLeftDetail extends MemberJoinedDetail {
  /** Discovery's reason (`expired`, `withdrawn`, `stale`, ...). */
  readonly reason: string
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

/**
 * Payload of `peer:rejected`: a node was refused. Mostly an untrusted id (from discovery, or an
 * inbound connection refused in the handshake); the listener also refuses inbound connections over
 * the transport's own limit (those over the node's `maxConnections` are only counted: `refusedOverCap`),
 * while stopping, and those whose handshake failed: `reason` tells which.
 */
export interface PeerRejectedDetail {
  /**
   * The refused node's id; `undefined` when an inbound connection was refused before its id was
   * known (no or a bad client certificate, a failed handshake).
   */
  readonly id: string | undefined
  /** `discovery` source name, or `inbound`. */
  readonly source: string
  /**
   * Why: `untrusted` for an id discovery reported, else the listener's reason for an inbound
   * connection (`untrusted client id`, `too many connections`, `listener closing`, `handshake
   * failed: ...`, ...).
   */
  readonly reason: string
}

/** Events of a {@link PeerNode}. */
export interface NodeEvents extends ServiceEvents {
  /** A trusted peer is connected and ready for messages (both sides exchanged `hello`). */
  'peer:up': CustomEvent<PeerUpDetail>
  /**
   * A connection that was up went away. It says nothing about membership: with reason `idle` or
   * `evicted` the peer is still a member and is dialed again when used; `member:left` says it is gone.
   */
  'peer:down': CustomEvent<PeerDownDetail>
  /** Discovery reported a trusted peer: it is a member (connected or not). */
  'member:joined': CustomEvent<MemberJoinedDetail>
  /** The last discovery source lost a member: it is gone as far as discovery knows. */
  'member:left': CustomEvent<MemberLeftDetail>
  /** A node was refused: an untrusted id, or an inbound connection the listener refused (see `reason`). */
  'peer:rejected': CustomEvent<PeerRejectedDetail>
  /**
   * Messages accepted by `send` were not confirmed delivered before their connection ended
   * (partition, crash, replacement, stop): one event per topic, with the count.
   */
  'message:dropped': CustomEvent<MessageDroppedDetail>
}

/** The node's state: `started` (`stopped` before `start()`); `stop()` makes it `stopping`, then `stopped`. */
export type NodeState = 'started' | 'stopping' | 'stopped'

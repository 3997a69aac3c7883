import type { AbortOptions, DiscoveryBackend, LoggerFactory, PeerAddress } from '@peer/discovery-core'
import type { Identity, TrustList } from '@peer/identity'
import type { BackoffOptions } from '@peer/registry'
import type { EngineName, TransportTuning } from '@peer/transport-quic'
import type { Priority } from './lanes.js'
import type { NodeMetricsOptions } from './meter-types.js'

/**
 * Who this node trusts: a `TrustList` from `@peer/identity` (changes apply live), or node ids.
 * `'all'` trusts every node that presents a valid certificate: for demos only, it logs a loud
 * warning (and emits a process warning `PEER_TRUST_ALL`).
 */
export type TrustOption = TrustList | Iterable<string> | 'all'

/**
 * Options of {@link createNode}. Only `trust` is required; a bad one makes it reject
 * (`ConfigError`). The message, handler, lane and stream limits and the request, hello, stop,
 * stall, probe and partial-frame timeouts are integers of at least 1: 0 does not turn them off.
 */
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
   * interface address when listening on `0.0.0.0` / `::`. An address no peer can dial here (the
   * wildcard, a multicast or the broadcast address) is a `ConfigError`.
   */
  announce?: readonly PeerAddress[]
  /** Discovery backends, highest priority first; the node runs them as one aggregate `Discovery`. */
  discovery?: DiscoveryBackend | readonly DiscoveryBackend[]
  /** Who may connect and who is dialed. Required: security is the default. */
  trust: TrustOption
  /**
   * Small string metadata announced with the node. Not `services`: the node keeps that key (the
   * services it provides, see `provide`); setting it is a `ConfigError`.
   */
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
   * and the most messages from one peer waiting for a handler slot; also the most calls waiting for
   * one peer's connection (its dial or `hello`). Default 10,000.
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
  /**
   * How long a new connection may take to exchange `hello` before it is closed, and a byte stream
   * to exchange its header and answer (`openStream`), in ms. Default 10,000.
   */
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
   * node waited for it (requests in flight, messages queued or not yet confirmed, a liveness probe)
   * and a ping sent halfway went unanswered, the connection is stalled (a partition shorter than
   * the idle timeout, a peer killed). Once that ping is out the silence keeps counting, even when
   * the call that waited timed out or was aborted meanwhile. The node then dials the peer afresh on
   * its known addresses (short attempts, one after the other) and, once a handshake succeeds and
   * the old connection is still silent, moves the peer to the new connection: the peer stays up,
   * requests and unconfirmed messages on the stalled connection fail with `PeerUnavailableError`
   * reason `connection-lost` (counted in `messagesDropped`), and traffic resumes within about a
   * handshake of the path's return instead of at QUIC's next retransmission (seconds under
   * back-off). An idle connection sends nothing for this. Default 2,000.
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
   * `on-demand` only (with `mesh` it is logged as a warning and ignored): close a connection after
   * this many ms with no message, request or open byte stream in either direction (checked every
   * quarter of it). Default 60,000.
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
  registry?: NodeRegistryOptions
  /** QUIC transport tuning (idle timeout, keepalive, windows, ...) and the engine. */
  transport?: NodeTransportOptions
  /**
   * Logger factory (namespaces `peer:node`, `peer:registry:*`, `peer:transport:*`, `peer:discovery*`). Silent
   * by default.
   */
  logger?: LoggerFactory
}

/** What a handler learns about the message it handles. */
export interface HandlerContext {
  /** The sender. */
  readonly from: { readonly id: string; readonly name: string | undefined }
  /** The topic the message or request was sent on. */
  readonly topic: string
  /** `message` for `send`, `request` for `request` (only a request's return value goes back). */
  readonly kind: 'message' | 'request'
  /**
   * Aborted when the connection to the sender ends (a disconnect, or a newer connection replacing
   * it) or the node stops before the handler finished.
   */
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

/** The node's state: `started` (`stopped` before `start()`); `stop()` makes it `stopping`, then `stopped`. */
export type NodeState = 'started' | 'stopping' | 'stopped'

export type {
  HandlerFailedDetail,
  HandlerKind,
  MemberJoinedDetail,
  MemberLeftDetail,
  MessageDroppedDetail,
  NodeEvents,
  PeerDialFailedDetail,
  PeerDownDetail,
  PeerRejectedDetail,
  PeerUpDetail,
} from './node-events.js'
export type { LaneInfo, MemberInfo, NodeCounters, NodeStats, PeerInfo, PeerStats } from './node-stats.js'

/**
 * The peer registry settings `createNode` passes on (the option `registry`). The registry's other
 * options (its transport, trust, discovery, connection policy) are the node's own.
 */
export interface NodeRegistryOptions {
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
  /**
   * Most dials in flight at once; further peers wait in state `queued`. A dial unanswered after
   * 1 s frees its slot and goes on as a slow dial (at most 16 per slot), so peers that are down
   * do not keep the ones that are up waiting. Default 8.
   */
  maxConcurrentDials?: number
  /** How long a peer that said `shutdown` is not redialed unless announced again, in ms. Default 15,000. */
  departedHoldMs?: number
  /**
   * Attempt length of probing dials (a peer connected before, redials after a lost connection;
   * three times this for a peer never connected), in ms; 0 = off. Default 1,000.
   */
  probeAttemptMs?: number
}

/**
 * The transport settings `createNode` passes on (the option `transport`): QUIC tuning and the
 * engine. The transport's identity, trust and frame limits come from the node's own options.
 */
export interface NodeTransportOptions extends TransportTuning {
  /**
   * The QUIC engine: `'quinn'` (the default where its binary loads) or `'matrixai'`. Default:
   * `PEER_QUIC_ENGINE`, then `'quinn'`; `node.stats.engine` says which runs, and why it fell back.
   */
  engine?: EngineName
}

import type { AbortOptions, LoggerFactory, TypedEventTarget } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import type { CloseInfo } from './errors.js'

/** A UDP address. `host` is an IP address, `localhost`, or a host name. */
export interface TransportAddress {
  /**
   * The IP address (or `localhost`); a listener binds to it (`0.0.0.0` or `::`: every interface).
   * `dial` and `listen` also take a host name, which they resolve first (the system resolver's
   * first answer).
   */
  host: string
  /** The UDP port; 0 asks `listen` for a free one. */
  port: number
}

/** Decides whether a client id may connect. Called during the handshake; a throw or rejection means "no". */
export type TrustPolicy = (id: string) => boolean | Promise<boolean>

/**
 * Engine tuning. Every field is optional: defaults are chosen per path (see `tuningFor`):
 * loopback gets large UDP payloads and larger flow-control windows, other paths path-MTU-safe
 * payloads. Every field must be a finite number >= 0 (`maxSendUdpPayloadSize` >= 1,200,
 * `maxStreams` >= 1, durations at most 2^31 - 1): `createTransport` and `tuningFor` throw
 * `TransportConfigError` otherwise.
 */
export interface TransportTuning {
  /**
   * Close a connection when nothing was heard from the peer for this long (ms). Default 30,000;
   * 0 = never (in practice 24.8 days, the longest a Node.js timer waits; also the largest value).
   */
  maxIdleTimeoutMs?: number
  /**
   * Send a keepalive PING this often (ms) so an idle but healthy connection stays open. Default
   * 5,000; 0 = none. At most 2^31 - 1 (the longest a Node.js timer waits), as every duration here.
   */
  keepAliveIntervalMs?: number
  /** How long a dial may take before it fails with `ConnectTimeoutError` (ms). Default 10,000. */
  connectTimeoutMs?: number
  /** Bidirectional streams the peer may have open at once (QUIC `initial_max_streams_bidi`). Default 256. */
  maxStreams?: number
  /**
   * Largest UDP payload sent. Default 65,000 on loopback, 1,350 elsewhere. matrixai engine only
   * (the quinn binding takes no such setting).
   */
  maxSendUdpPayloadSize?: number
  /** Largest UDP payload accepted. Default 65,527. matrixai engine only, as above. */
  maxRecvUdpPayloadSize?: number
  /**
   * Most bytes read from the engine per stream read. Default 256 KiB.
   * The quinn engine asks 16 KiB first and adapts: four times as much after a full read, half as
   * much after one under a quarter full, within 16 KiB and this.
   */
  readChunkSize?: number
  /**
   * Initial connection flow-control window (bytes). Default 16 MiB on loopback, 8 MiB elsewhere.
   * matrixai engine only (the quinn binding takes no such setting).
   */
  initialMaxData?: number
  /**
   * Initial per-stream flow-control window (bytes). Default 4 MiB on loopback, 2 MiB elsewhere.
   * matrixai engine only, as above.
   */
  initialMaxStreamData?: number
  /**
   * Largest connection window auto-tuning may reach on matrixai, and the connection's receive
   * window on quinn (bytes). Default 64 MiB on loopback, 24 MiB elsewhere.
   */
  maxConnectionWindow?: number
  /**
   * Largest stream window auto-tuning may reach on matrixai, and each stream's receive window on
   * quinn (bytes). Default 16 MiB.
   */
  maxStreamWindow?: number
  /** Kernel UDP socket send and receive buffer size (bytes; the kernel may cap it). Default 4 MiB. */
  socketBufferSize?: number
}

/** Options of `createTransport`. */
export interface TransportOptions extends TransportTuning {
  /** This node's identity: its certificate is presented on every connection. */
  identity: Identity
  /** Which client ids a listener accepts. Dials pin `expectedId` instead. */
  trust: TrustPolicy
  /** Logger factory (namespaces `peer:transport:quic`, `peer:transport:quic:engine`). Silent by default. */
  logger?: LoggerFactory
  /** Default message channel options for every connection. */
  channel?: ChannelOptions
  /**
   * Stream opens queued while the peer's stream limit is reached, per connection; an open beyond
   * them rejects with `TransportLimitError`. Default 10,000.
   */
  maxQueuedStreamOpens?: number
  /**
   * Incoming streams waiting for `acceptStream`, and as many channels waiting for `acceptChannel`,
   * per connection; more are reset with `CODE.LIMIT_EXCEEDED`. It also bounds the incoming streams
   * whose first byte has not arrived yet, and the `acceptStream`/`acceptChannel` calls waiting at
   * once (more reject with `TransportLimitError`). Default 1,024.
   */
  maxPendingStreams?: number
  /**
   * Connections a listener holds at once, those still confirming their handshake included; more
   * are closed right after the handshake (`CODE.LIMIT_EXCEEDED`, reported in
   * `connection:rejected`). Default 10,000.
   */
  maxConnections?: number
  /**
   * Streams a peer may open that are dropped as protocol errors (unknown kind, bad or late
   * preamble) before its connection is closed with `CODE.PROTOCOL_ERROR`. Default 32.
   */
  maxProtocolErrors?: number
  /**
   * Streams a peer may open per second (twice that as a burst); more are reset with
   * `CODE.LIMIT_EXCEEDED` and count as protocol errors. Default 1,000.
   */
  maxStreamOpensPerSecond?: number
  /**
   * The QUIC engine: `quinn` (Rust, through the binding inside `@chainsafe/libp2p-quic`) or
   * `matrixai` (`@matrixai/quic`). Default: `PEER_QUIC_ENGINE`, else the package default. quinn
   * falls back to matrixai (logged at info) where its binary does not load or for a P-256 identity.
   * Both engines speak the same wire. Another name (here or in `PEER_QUIC_ENGINE`) throws
   * `TransportConfigError`.
   */
  engine?: 'quinn' | 'matrixai'
  /**
   * Bytes handed to every peer in the handshake confirmation, at most `MAX_HELLO_BYTES` (4,096):
   * the peer reads them as `connection.remoteHello` as soon as the connection is handed out, with
   * no round trip of its own (e.g. a name or limits the layer above needs before its first
   * message). Hellos are mutual: each side sees the other's only when both sides give one, so a
   * layer above can switch to a hello-based protocol knowing the peer switched too. Only
   * authenticated, pinned peers see them. A function ({@link HelloSource}) gives each connection
   * its own bytes, asked once per connection when they are written. Default: none.
   */
  hello?: Uint8Array | HelloSource
}

/**
 * Hello bytes per connection: called once per connection when the transport writes its hello
 * (the listener in its handshake confirmation, the dialer in its acknowledgement), with the
 * peer's authenticated id. Return `undefined` to send none on this connection. It must not throw
 * (a throw is logged and the connection gets no hello) and must return at most `MAX_HELLO_BYTES`.
 */
export type HelloSource = (peer: HelloPeer) => Uint8Array | undefined

/** The connection a {@link HelloSource} is asked about. */
export interface HelloPeer {
  /** The peer's node id (authenticated and pinned). */
  readonly id: string
  /** `inbound`: we are the listener; `outbound`: we dialed. */
  readonly direction: 'inbound' | 'outbound'
  /**
   * Settles once the confirmation exchange ends: `true` when the connection is handed out (the
   * listener's `connection` event was emitted, or the dial resolves), `false` when it failed
   * first. Never rejects.
   */
  readonly confirmed: Promise<boolean>
}

/** Options of a message channel. */
export interface ChannelOptions {
  /** Largest message (frame payload) in bytes, both directions. Default 16 MiB. */
  maxFrameSize?: number
  /** Bytes `send` may buffer before it waits for the peer (backpressure). Default 1 MiB. */
  maxBufferedBytes?: number
  /** Received messages held for the reader before reading from the peer pauses. Default 4,096. */
  maxQueuedMessages?: number
  /** Small messages are coalesced into writes of up to this many bytes. Default 64 KiB. */
  coalesceBytes?: number
  /**
   * A frame whose bytes started arriving must complete within this many ms of waiting for the
   * peer; a peer that stalls inside a frame gets the channel reset (`MalformedFrameError`). Default 60,000.
   */
  partialFrameTimeoutMs?: number
}

/** Options of `dial`. */
export interface DialOptions extends AbortOptions {
  /** The node id the server must present; a different id fails the dial with `PinningError`. */
  expectedId: string
  /**
   * Called once, synchronously, when the dial can no longer be taken back: the server trusted us,
   * our pinning accepted it, and our acknowledgement is about to be sent, after which the server
   * may hand the connection to its application. A dial whose `signal` aborts before this point
   * sends no acknowledgement, so the server never hands it out; after it, the server may have.
   * The peer registry uses this to know whether it may give up a dial in favour of the same
   * peer's inbound connection without the two sides keeping different connections.
   */
  onCommit?: () => void
}

/** The QUIC transport: listens and dials. */
export interface Transport {
  /** This node's id. */
  readonly id: string
  /** The QUIC engine that runs (after any fallback). */
  readonly engine: 'quinn' | 'matrixai'
  /**
   * Why quinn was not used (its binary did not load, or the identity is P-256) when the engine fell
   * back to matrixai.
   */
  readonly engineFallbackReason?: string | undefined
  /**
   * Starts a listener. Port 0 picks a free port (see `listener.address`). Rejects with
   * `TransportError` when the transport is closed or the bind fails, or with an `AbortError`.
   */
  listen(address: TransportAddress, options?: AbortOptions): Promise<Listener>
  /**
   * Connects to a server whose node id must be `options.expectedId`; resolves once the server has
   * confirmed the connection. Rejects with `PinningError`, `UntrustedPeerError`,
   * `ConnectTimeoutError`, `HandshakeError`, `TransportError`, `InvalidNodeIdError` (a malformed
   * `expectedId`) or an `AbortError` (see `QuicTransport.dial`).
   */
  dial(address: TransportAddress, options: DialOptions): Promise<Connection>
  /**
   * True when {@link Transport.dial} calls {@link DialOptions.onCommit} (the QUIC transport does);
   * the peer registry relies on it only then.
   */
  readonly reportsDialCommit?: boolean
  /**
   * Replaces the hello bytes (see {@link TransportOptions.hello}) sent on connections confirmed
   * from now on (e.g. once a name that depends on the bound port is known); `undefined` sends none.
   * Throws `TransportConfigError` for anything but a `HelloSource` or at most `MAX_HELLO_BYTES` bytes.
   */
  setHello(hello: Uint8Array | HelloSource | undefined): void
  /**
   * Closes every listener and every dialed connection; dials still in flight reject at once with a
   * `TransportError` ("transport is closed").
   */
  close(reason?: string): Promise<void>
}

/** Payload of a listener's `connection` event. */
export interface ConnectionEventDetail {
  /** The accepted inbound connection: pinned, trusted, confirmed and in the listener's `connections`. */
  connection: Connection
}

/** Events of a {@link Listener}. */
export interface ListenerEvents {
  /** A client passed the handshake (pinned and trusted). */
  connection: CustomEvent<ConnectionEventDetail>
  /**
   * A client was refused: an untrusted id, a bad certificate or failed handshake, over
   * `maxConnections`, or after `stopAccepting` or once the listener is closing.
   */
  'connection:rejected': CustomEvent<{ id?: string; reason: string; remoteAddress?: TransportAddress }>
  /** The listener stopped. */
  close: CustomEvent<{ reason: string }>
}

/** A bound QUIC server. */
export interface Listener extends TypedEventTarget<ListenerEvents> {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: TransportAddress
  /** A snapshot of the open inbound connections. */
  readonly connections: Connection[]
  /** Resolves when the listener has stopped. */
  readonly closed: Promise<void>
  /** Closes every connection (with `reason`) and unbinds. Idempotent. */
  close(reason?: string): Promise<void>
  /**
   * Refuses every new connection from now on (closed right after the handshake with `reason`
   * and `CODE.SHUTDOWN` for reason `shutdown`, `CODE.LIMIT_EXCEEDED` otherwise, and counted in
   * `connection:rejected`); open connections stay. The first step of a graceful stop. Idempotent.
   */
  stopAccepting(reason?: string): void
  /** Closes the listener, as `close()` does (reason `listener closed`); for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * A stream as an event payload. No event of this package carries it (a connection's streams and
 * channels come from `streams()`, `acceptStream()` and `acceptChannel()`).
 * @deprecated Unused; will be removed in the next minor version.
 */
export interface StreamEventDetail {
  /** The stream the event is about. */
  stream: Stream
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /**
   * The connection closed (also available as the `closed` promise). Incoming streams and
   * channels are pulled with `acceptStream`/`acceptChannel` or the async iterators.
   */
  close: CustomEvent<CloseInfo>
}

/** A bidirectional QUIC stream. */
export interface Stream {
  /** The QUIC stream id. */
  readonly id: number
  /** Bytes from the peer. Ends when the peer finishes its side; errors with `StreamResetError` on reset. */
  readonly readable: ReadableStream<Uint8Array>
  /** Bytes to the peer. `close()` finishes our side; writes wait when the peer's window is full. */
  readonly writable: WritableStream<Uint8Array>
  /** Aborts both directions with an application error code (default 1). */
  reset(code?: number): void
}

/** Options of {@link MessageChannel.receiveBatch}. */
export interface ReceiveBatchOptions extends AbortOptions {
  /**
   * Most messages in one batch (an integer >= 1; else `receiveBatch` rejects with
   * `TransportConfigError`). Default: every message already received.
   */
  readonly max?: number
}

/** A framed message channel on one stream: u32 length-prefixed messages, in order. */
export interface MessageChannel extends AsyncIterable<Uint8Array> {
  /** The underlying QUIC stream id. */
  readonly id: number
  /**
   * Queues one message. Resolves once it is buffered (not when the peer has it); waits while
   * the buffer is full. The message is copied before `send` returns: the caller may reuse or
   * change its buffer at once. Rejects with `FrameTooLargeError` when it exceeds `maxFrameSize`
   * (the channel stays usable), with `TransportLimitError` when the buffer is full and 1,024 sends
   * already wait for space, or with `ConnectionClosedError` / `StreamResetError`.
   *
   * `options.signal` cancels the wait, not the message: a signal aborted before the call rejects
   * with its `AbortError` and queues nothing, but once queued the message stays queued and is
   * still sent (its bytes may already be on the wire), so aborting while `send` waits for buffer
   * space rejects the call with the `AbortError` and leaves the channel usable.
   */
  send(message: Uint8Array, options?: AbortOptions): Promise<void>
  /**
   * Writes everything buffered so far; resolves when the engine has it. `options.signal` stops
   * the wait (rejecting with its `AbortError`), not the writing: the buffered messages are still
   * sent.
   */
  flush(options?: AbortOptions): Promise<void>
  /**
   * The next message, or `undefined` when the peer finished the channel or the connection was
   * closed gracefully (by either side with code `CODE.NO_ERROR`, e.g. a plain `close()`). Rejects
   * with `FrameTooLargeError`, `MalformedFrameError`, `StreamResetError` or `ConnectionClosedError`
   * (idle timeout, errors, a close with another code, e.g. `close('shutdown')`, before the peer
   * finished the channel).
   */
  receive(options?: AbortOptions): Promise<Uint8Array | undefined>
  /**
   * Every message received and not yet taken (at least one: it waits for the first, like
   * `receive`), in order, up to `options.max` (default: all); `undefined` and the errors as for
   * `receive`. One promise per batch instead of one per message: a consumer of many small messages
   * spends less on each (see the README's "Many small messages").
   */
  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined>
  /** Flushes and finishes our side; the peer's iterator ends. Idempotent. */
  close(): Promise<void>
  /** Aborts the channel in both directions. */
  reset(code?: number): void
  /** Resolves when both directions are done (or the channel failed; see `error`). */
  readonly closed: Promise<void>
  /** Why the channel failed, if it did. */
  readonly error: Error | undefined
}

/**
 * Counters the QUIC engine keeps for one connection, since it opened. After the connection
 * closed they keep their last values.
 */
export interface ConnectionStats {
  /**
   * UDP datagrams received on this connection. The matrixai engine counts QUIC packets (what its
   * engine, quiche, reports): a few more than datagrams, where the handshake coalesces packets.
   */
  readonly datagramsReceived: number
  /** UDP datagrams sent on this connection (QUIC packets with the matrixai engine, as above). */
  readonly datagramsSent: number
}

/** A pinned, mutually authenticated QUIC connection to one peer. */
export interface Connection extends TypedEventTarget<ConnectionEvents> {
  /** The peer's node id, derived from the certificate it presented in the handshake. */
  readonly remoteId: string
  /**
   * The peer's UDP address. It follows the peer when it migrates (a NAT rebinding, say), with the
   * engines that support migration (see `engineCapabilities`).
   */
  readonly remoteAddress: TransportAddress
  /**
   * Our UDP address on this connection: the listener's for an inbound one; for a dialed one, the
   * client socket's (bound to the wildcard address of the family, `0.0.0.0` or `::`).
   */
  readonly localAddress: TransportAddress
  /** `outbound` when we dialed, `inbound` when the peer did. */
  readonly direction: 'inbound' | 'outbound'
  /**
   * The bytes the peer gave its transport as `hello` (see {@link TransportOptions.hello}), or
   * `undefined` when either side gave none (hellos are mutual) or the peer runs a version without
   * hellos. Set before the connection is handed out (the dial resolves, or the listener emits
   * `connection`). Bytes from the network: validate them.
   */
  readonly remoteHello: Uint8Array | undefined
  /**
   * Smoothed round-trip time in whole ms, rounded down, when the engine reports it: both engines'
   * native layers report whole milliseconds, so loopback and most LANs read 0 (under 1 ms).
   */
  readonly rtt: number | undefined
  /**
   * A snapshot of the engine's counters for this connection (datagrams in and out), or
   * `undefined` when the engine keeps none. Still answers after close, with the final counts.
   */
  readonly stats: ConnectionStats | undefined
  /** Resolves (never rejects) with how the connection ended. */
  readonly closed: Promise<CloseInfo>
  /** True once closed. */
  readonly isClosed: boolean
  /** Opens a bidirectional stream; waits (in a bounded queue) while the peer's stream limit is reached. */
  openStream(options?: AbortOptions): Promise<Stream>
  /** The next stream the peer opened with `openStream`. */
  acceptStream(options?: AbortOptions): Promise<Stream>
  /** Incoming streams, until the connection closes. */
  streams(): AsyncIterable<Stream>
  /** Opens a stream and wraps it in a message channel. */
  openChannel(options?: ChannelOptions & AbortOptions): Promise<MessageChannel>
  /** The next channel the peer opened with `openChannel`. */
  acceptChannel(options?: ChannelOptions & AbortOptions): Promise<MessageChannel>
  /** Incoming channels, until the connection closes. */
  channels(options?: ChannelOptions): AsyncIterable<MessageChannel>
  /**
   * Closes the connection, sending `reason` and an application error `code` to the peer. Without a
   * code, `shutdown` sends `CODE.SHUTDOWN`, `duplicate`/`replaced` send `CODE.REPLACED`, anything
   * else `CODE.NO_ERROR`. Idempotent; resolves when closed.
   */
  close(reason?: string, code?: number): Promise<CloseInfo>
  /** Closes the connection, as `close('disposed')` does (code `CODE.NO_ERROR`); for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

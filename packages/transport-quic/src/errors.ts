import { ConfigError, PeerError } from '@peer/discovery-core'

/**
 * Base class of every error thrown by `@peer/transport-quic`, except {@link TransportConfigError}
 * and the `AbortError` (an aborted `signal`) and `InvalidNodeIdError` (`dial`'s `expectedId`) of
 * `@peer/discovery-core`.
 */
export class TransportError extends PeerError {}

/**
 * An option is invalid (a negative tuning value, a `maxFrameSize` above u32, an unknown `engine`,
 * a missing `identity` or `trust`). A `ConfigError` from `@peer/discovery-core`, like every
 * package's option errors; `option` names the offending option.
 */
export class TransportConfigError extends ConfigError {}

/** The server presented a certificate whose node id is not the one the dial expected. */
export class PinningError extends TransportError {
  /** The id the caller expected (`expectedId`). */
  readonly expectedId: string
  /** The id the server's certificate actually carries (`undefined` when it had no usable certificate). */
  readonly actualId: string | undefined
  constructor(expectedId: string, actualId: string | undefined, options?: ErrorOptions) {
    super(
      `server identity mismatch: expected node ${expectedId}, but the server presented ${
        actualId === undefined ? 'no usable certificate' : `node ${actualId}`
      }`,
      options,
    )
    this.expectedId = expectedId
    this.actualId = actualId
  }
}

/**
 * A dial failed because the server does not trust this node: it refused our id during the
 * handshake (an access-denied close). A listener does not throw it: a client it refuses shows up as
 * a `connection:rejected` event with the client's id and the reason.
 */
export class UntrustedPeerError extends TransportError {
  /**
   * The id that was not trusted, when known. Dials of this transport leave it `undefined`: the
   * dialer only learns that the server refused its own id.
   */
  readonly id: string | undefined
  constructor(message: string, id?: string, options?: ErrorOptions) {
    super(message, options)
    this.id = id
  }
}

/**
 * The handshake failed for a reason other than pinning or trust (ALPN, no certificate, ...), or the
 * connection closed before the server confirmed it (the server over its `maxConnections`, after
 * `stopAccepting` or closing; an unsupported protocol version).
 */
export class HandshakeError extends TransportError {
  /**
   * QUIC / TLS error code from the wire, when there is one (TLS alerts are 0x100 + alert), or the
   * application code of a close before the confirmation (e.g. `CODE.LIMIT_EXCEEDED`).
   */
  readonly code: number | undefined
  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** A dial did not complete in time: no answer, or no confirmation, within `connectTimeoutMs`. */
export class ConnectTimeoutError extends TransportError {}

/** A message is larger than the channel's `maxFrameSize` (sent, or announced by the peer). */
export class FrameTooLargeError extends TransportError {
  /** The message's size in bytes: the one given to `send`, or the length the peer announced. */
  readonly size: number
  /** The channel's `maxFrameSize` (bytes), which `size` exceeds. */
  readonly maxFrameSize: number
  constructor(size: number, maxFrameSize: number, direction: 'send' | 'receive') {
    super(
      direction === 'send'
        ? `message of ${size} bytes exceeds maxFrameSize ${maxFrameSize}`
        : `peer announced a frame of ${size} bytes, above maxFrameSize ${maxFrameSize}; stream reset`,
    )
    this.size = size
    this.maxFrameSize = maxFrameSize
  }
}

/** The byte stream under a message channel broke the framing (e.g. it ended inside a frame). */
export class MalformedFrameError extends TransportError {}

/** The peer reset (or stopped) a stream; `code` is the application error code from the wire. */
export class StreamResetError extends TransportError {
  /**
   * The application error code: the peer's, from the wire, or the one given to our own `reset`.
   * A peer on the quinn engine always sends 0 (see `EngineCapabilities.streamResetCodes`).
   */
  readonly code: number
  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** How a connection ended. */
export interface CloseInfo {
  /**
   * Who or what ended it: `local` (we closed it), `remote` (the peer closed it), `idle-timeout`
   * (nothing heard from the peer within `maxIdleTimeoutMs`: it died or the path broke),
   * `error` (a protocol or internal error).
   */
  readonly by: 'local' | 'remote' | 'idle-timeout' | 'error'
  /** Human-readable reason (the peer's reason text when it sent one). */
  readonly reason: string
  /** QUIC error code from the wire (application code when `application` is true). */
  readonly code?: number
  /** True when `code` is an application error code (a `close(reason)` by either side). */
  readonly application?: boolean
  /** The underlying engine error, if any. */
  readonly error?: unknown
}

/** An operation needs an open connection (or channel, or listener) and it is closed. */
export class ConnectionClosedError extends TransportError {
  /** How the connection ended, when known. */
  readonly info: CloseInfo | undefined
  constructor(message: string, info?: CloseInfo, options?: ErrorOptions) {
    super(info === undefined ? message : `${message} (${describeClose(info)})`, {
      ...options,
      cause: options?.cause ?? info?.error,
    })
    this.info = info
  }
}

/**
 * Too many of something: stream opens queued for the peer's limit (`maxQueuedStreamOpens`),
 * `acceptStream`/`acceptChannel` calls waiting at once (`maxPendingStreams`), `send` calls waiting
 * for buffer space (1,024).
 */
export class TransportLimitError extends TransportError {}

/** One line describing a {@link CloseInfo}, for logs and error messages. */
export function describeClose(info: CloseInfo): string {
  const code = info.code === undefined ? '' : ` code ${info.code}`
  return `closed by ${info.by}${code}: ${info.reason || 'no reason given'}`
}

/**
 * `message`, plus what it most likely means when it is rustls's "invalid peer certificate" (the
 * libp2p verifier of the quinn engine refused a certificate): a P-256 identity, whose node runs on
 * the matrixai engine and presents a certificate quinn cannot verify. @internal
 */
export function withCertificateHint(message: string): string {
  if (!/invalid peer certificate/i.test(message)) return message
  return `${message} (a node with a P-256 identity runs on the matrixai engine, whose certificates quinn cannot verify: use Ed25519 identities, or engine 'matrixai' on every node)`
}

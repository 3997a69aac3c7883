import { PeerError } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { type CloseInfo, CODE, ConnectionClosedError } from '@peer/transport-quic'

/**
 * Base class of every error class of `@peer/node`. Calls also throw errors of other packages:
 * `ConfigError` (a bad option or argument), `AbortError`, `InvalidNodeNameError`, ...
 */
export class NodeError extends PeerError {}

/**
 * The remote handler threw (or rejected). `remoteName` and `message` are the remote error's
 * `name` and `message` as the peer sent them (length-limited); the remote stack is never sent.
 */
export class RemoteError extends NodeError {
  /** The `name` of the error the remote handler threw, e.g. `TypeError` or `OutOfStockError`. */
  readonly remoteName: string
  /** The node id of the peer whose handler failed. */
  readonly peer: string
  /** The topic of the request. */
  readonly topic: string
  /** The remote error's `code`, when it had a string or number one. */
  readonly code: string | number | undefined
  constructor(
    peer: string,
    topic: string,
    remoteName: string,
    message: string,
    code?: string | number,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.peer = peer
    this.topic = topic
    this.remoteName = remoteName
    this.code = code
  }
}

/** A request got no answer within its timeout. */
export class RequestTimeoutError extends NodeError {
  /** The node id of the peer the request was sent to. */
  readonly peer: string
  /** The topic of the request. */
  readonly topic: string
  /** The timeout that expired, in ms. */
  readonly timeoutMs: number
  constructor(peer: string, topic: string, timeoutMs: number) {
    super(`request ${JSON.stringify(topic)} to ${peer} got no answer within ${timeoutMs} ms`)
    this.peer = peer
    this.topic = topic
    this.timeoutMs = timeoutMs
  }

  /**
   * The timeout that expired, in ms: the same value as `timeoutMs`.
   *
   * @deprecated Use `timeoutMs`; `timeout` (same unit, ms) is kept until the next minor version.
   */
  get timeout(): number {
    return this.timeoutMs
  }
}

/** The peer has no handler for the topic of a request. */
export class NoHandlerError extends NodeError {
  /** The node id of the peer that has no handler. */
  readonly peer: string
  /** The topic of the request, for which the peer has no handler. */
  readonly topic: string
  constructor(peer: string, topic: string) {
    super(`peer ${peer} has no handler for topic ${JSON.stringify(topic)}`)
    this.peer = peer
    this.topic = topic
  }
}

/**
 * Why a peer is unavailable, as {@link PeerUnavailableError.reason}:
 * - `not-connected`: there is no connection to it (unknown, not trusted, not up yet, not up within
 *   the wait, a dial on first use failed or hit the connection cap, a connection closed as unused
 *   (`idle`, `evicted`), or a name that matches no member or several);
 * - `shutdown`: the peer said it is stopping (it finished its channels, answered `stopping`, or
 *   closed the connection with `shutdown`);
 * - `connection-lost`: the connection died without a goodbye (idle timeout: the peer crashed or
 *   the path broke; a reset; a transport error);
 * - `replaced`: the connection was replaced by a newer one to the same peer (the peer restarted
 *   or redialed); what was in flight on the old one is lost, the peer itself may be up;
 * - `protocol-error`: one side broke the protocol (a bad `hello`, a broken frame) and closed the
 *   connection with an application error code.
 */
export type PeerUnavailableReason =
  | 'not-connected'
  | 'shutdown'
  | 'connection-lost'
  | 'replaced'
  | 'protocol-error'

/**
 * Where a peer that is not up stands, as `PeerUnavailableError.standing` says it (the message says
 * the same in words):
 * - `self`: the id is this node's own;
 * - `untrusted`: not in the trust list (so neither dialed nor accepted), whether discovery reports
 *   it or not; for a name, only an untrusted discovered peer has it;
 * - `undiscovered`: trusted, but no discovery backend reports it (or the node has none) and it has
 *   not connected; for a name, no discovered peer has it;
 * - `ambiguous`: the name matches several members;
 * - `discovered`: a trusted member discovery reports, not up: being dialed, dialed on first use
 *   (`connect: 'on-demand'`), or departed (it said it was stopping); the last dial's error, if
 *   any, is in `lastDialError`.
 */
export type PeerStanding = 'self' | 'untrusted' | 'undiscovered' | 'ambiguous' | 'discovered'

/**
 * The peer is not connected, or the connection a request was in flight on went away. `reason`
 * says which ({@link PeerUnavailableReason}); the message adds the detail (close reason and code).
 */
export class PeerUnavailableError extends NodeError {
  /** The node id or name the caller gave. */
  readonly peer: string
  /** Why the peer is unavailable. */
  readonly reason: PeerUnavailableReason
  /**
   * Why the last dial to the peer failed (wrong id, not trusted by the peer, no answer), when the
   * node knows: set for a member that is not up, by `waitForPeer`'s timeout and by `send`,
   * `request` and `ping` with `connect: 'mesh'`. Also in the message.
   */
  readonly lastDialError?: string | undefined
  /**
   * For a peer that is not up (`reason` `not-connected`, from `waitForPeer`, `send`, `request`,
   * `ping`, `openStream`): where it stands ({@link PeerStanding}); `undefined` otherwise.
   */
  readonly standing?: PeerStanding | undefined
  constructor(
    peer: string,
    detail: string,
    options?: ErrorOptions & {
      reason?: PeerUnavailableReason | undefined
      lastDialError?: string | undefined
      standing?: PeerStanding | undefined
    },
  ) {
    super(`peer ${peer} is unavailable: ${detail}`, options)
    this.peer = peer
    this.reason = options?.reason ?? 'not-connected'
    if (options?.lastDialError !== undefined) this.lastDialError = options.lastDialError
    if (options?.standing !== undefined) this.standing = options.standing
  }
}

/** Which {@link PeerUnavailableReason} a closed connection means. @internal */
export function reasonOfClose(info: CloseInfo | undefined): PeerUnavailableReason {
  if (info === undefined) return 'connection-lost'
  const app = info.application === true
  if ((app && info.code === CODE.SHUTDOWN) || (info.by !== 'local' && info.reason === 'shutdown')) {
    return 'shutdown'
  }
  if (info.reason === 'idle' || info.reason === 'evicted' || info.reason === 'connection cap') {
    return 'not-connected'
  }
  if ((app && info.code === CODE.REPLACED) || info.reason === 'duplicate' || info.reason === 'replaced') {
    return 'replaced'
  }
  if (
    (app && (info.code === CODE.PROTOCOL_ERROR || info.code === CODE.FRAME_TOO_LARGE)) ||
    info.reason.startsWith('protocol error') ||
    info.reason.startsWith('hello failed')
  ) {
    return 'protocol-error'
  }
  return 'connection-lost'
}

const PHRASE: Record<PeerUnavailableReason, string> = {
  'not-connected': 'not connected',
  shutdown: 'it is stopping',
  'connection-lost': 'the connection was lost',
  replaced: 'the connection was replaced by a newer one',
  'protocol-error': 'protocol error',
}

/** For a member that is not up: `detail`, and its last dial's error when known. @internal */
export function notUp(
  ref: string,
  detail: string,
  lastDialError: string | undefined,
  standing?: PeerStanding,
  cause?: unknown,
): PeerUnavailableError {
  const why = lastDialError === undefined ? detail : `${detail}; the last dial failed: ${lastDialError}`
  return new PeerUnavailableError(ref, why, {
    lastDialError,
    standing,
    ...(cause === undefined ? {} : { cause }),
  })
}

/** The error for requests in flight on a connection that closed. @internal */
export function unavailableFromClose(peer: string, info: CloseInfo | undefined): PeerUnavailableError {
  const reason = reasonOfClose(info)
  const code = info?.code === undefined ? '' : ` code ${info.code}`
  const detail =
    info === undefined ? '' : ` (closed by ${info.by}${code}: ${info.reason || 'no reason given'})`
  return new PeerUnavailableError(peer, `${PHRASE[reason]}${detail}`, {
    reason,
    ...(info?.error === undefined ? {} : { cause: info.error }),
  })
}

/**
 * What a failed write or lane open tells its caller: the link's own error once it closed (`closed`),
 * how the connection closed, or that `what` failed; never a bare transport error. @internal
 */
export function unavailableFrom(
  peer: string,
  error: unknown,
  closed: Error | undefined,
  what: string,
): Error {
  if (closed !== undefined) return closed
  if (error instanceof ConnectionClosedError) return unavailableFromClose(peer, error.info)
  return new PeerUnavailableError(peer, `${what} failed: ${errorMessage(error)}`, {
    cause: error,
    reason: 'connection-lost',
  })
}

/** The node is stopping or stopped; nothing more is sent or answered. */
export class NodeStoppedError extends NodeError {
  constructor(message = 'the node is stopped', options?: ErrorOptions) {
    super(message, options)
  }
}

/**
 * A per-peer limit was hit: too many requests waiting for an answer (`maxInFlightRequests`), too
 * many messages queued on one lane (`maxQueuedMessages`), or too many byte streams open
 * (`maxByteStreams`).
 */
export class TooManyRequestsError extends NodeError {
  /** The node id of the peer whose limit was hit. */
  readonly peer: string
  /** The limit that was hit. */
  readonly limit: number
  constructor(peer: string, what: string, limit: number) {
    super(`${what} to ${peer} exceeded the limit of ${limit}`)
    this.peer = peer
    this.limit = limit
  }
}

/** An encoded message is larger than `maxMessageSize`; nothing was sent. */
export class MessageTooLargeError extends NodeError {
  /** Encoded size in bytes. */
  readonly size: number
  /**
   * The limit it exceeded, in bytes: the smaller of this node's `maxMessageSize` and the one the
   * peer announced in its `hello`.
   */
  readonly maxMessageSize: number
  constructor(size: number, maxMessageSize: number) {
    super(`encoded message of ${size} bytes exceeds maxMessageSize ${maxMessageSize}`)
    this.size = size
    this.maxMessageSize = maxMessageSize
  }
}

/** A payload cannot be encoded with MessagePack (a function, a symbol, a cycle, ...). */
export class EncodeError extends NodeError {}

/** A second handler was registered for a topic that already has one. */
export class HandlerExistsError extends NodeError {
  /** The topic that already has a handler. */
  readonly topic: string
  constructor(topic: string) {
    super(`topic ${JSON.stringify(topic)} already has a handler; unregister it first`)
    this.topic = topic
  }
}

/** A topic is not a non-empty string of at most `MAX_TOPIC_LENGTH` characters. */
export class InvalidTopicError extends NodeError {}

/**
 * A frame from a peer is not a valid envelope; `reason` says which rule it broke. Counted and
 * dropped, never thrown to users.
 */
export class MalformedEnvelopeError extends NodeError {
  /** Which rule the envelope broke (see {@link MalformedReason}); the message adds the detail. */
  readonly reason: MalformedReason
  constructor(reason: MalformedReason, detail: string, options?: ErrorOptions) {
    super(`malformed envelope (${reason}): ${detail}`, options)
    this.reason = reason
  }
}

/**
 * Why an envelope was rejected: `decode` (not MessagePack), `shape` (not the array `[version, kind,
 * topic, id, payload]`), `version` (a protocol version this node does not speak), `kind` (an
 * unknown kind), `topic` (not a string of 1 to `MAX_TOPIC_LENGTH` characters), `id` (a request id
 * that is not valid for its kind), `payload` (a `hello`, `err` or `ack` payload of the wrong form),
 * or `unexpected` (a valid envelope where it does not belong: anything but `hello` first, an
 * envelope of the wrong kind inside a lane, a channel that ended before its first envelope).
 */
export type MalformedReason =
  | 'decode'
  | 'shape'
  | 'version'
  | 'kind'
  | 'topic'
  | 'id'
  | 'payload'
  | 'unexpected'

// The events of a node and their payloads (`peer:up`, `peer:down`, `member:joined`,
// `member:left`, `peer:rejected`, `peer:dial-failed`, `message:dropped`, `handler:failed`; the
// service events are in services.ts).
import type { PeerAddress } from '@peer/discovery-core'
import type { ServiceEvents } from './services.js'

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

/** What a failed handler was handling: a one-way message, a request, or a byte stream. */
export type HandlerKind = 'message' | 'request' | 'stream'

/** Payload of `handler:failed`. */
export interface HandlerFailedDetail {
  /** The node id of the peer that sent the message, the request or the stream. */
  readonly peer: string
  /** The name the peer announced in its `hello`; `undefined` when it sent none. */
  readonly name: string | undefined
  /** The topic whose handler failed. */
  readonly topic: string
  /** What it was handling. */
  readonly kind: HandlerKind
  /** What the handler threw, or what its promise rejected with (as thrown: not always an `Error`). */
  readonly error: unknown
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

/**
 * Detail of `peer:dial-failed`: a dial to a member failed. `error` is the address's error when one
 * was tried: the transport's `PinningError` (another node answers at the address),
 * `UntrustedPeerError` (the peer does not trust this node), a `DialTimeoutError` (no answer); an
 * `AggregateError` of each address's error (its message names every address) when several were;
 * a `RegistryError` when the member has no address to dial.
 */
export interface PeerDialFailedDetail {
  /** The member's node id. */
  readonly id: string
  /** Failed dials in a row, including this one. */
  readonly attempt: number
  /** Why the dial failed (see above). */
  readonly error: Error
  /** Delay before the next dial in ms, when one is scheduled. */
  readonly retryIn?: number | undefined
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
   * A dial to a member failed (a wrong id at its address, the peer does not trust this node, no
   * answer); `retryIn` says when the next dial is due. Why a member does not come up.
   */
  'peer:dial-failed': CustomEvent<PeerDialFailedDetail>
  /**
   * Messages accepted by `send` were not confirmed delivered before their connection ended
   * (partition, crash, replacement, stop): one event per topic, with the count.
   */
  'message:dropped': CustomEvent<MessageDroppedDetail>
  /**
   * A handler of this node threw or rejected: on a one-way message (nothing else learns of it; the
   * message is lost), a request (the caller also gets a `RemoteError`) or a byte stream (it was
   * reset). Counted in `stats.handlerErrors`.
   */
  'handler:failed': CustomEvent<HandlerFailedDetail>
}

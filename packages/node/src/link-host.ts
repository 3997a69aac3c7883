import type { Logger } from '@peer/discovery-core'
import type { Priority } from './lanes.js'
import type { ProbeTrigger } from './liveness-probe.js'
import type { HandlerKind } from './node-events.js'
import type { PeerLink } from './peer-link.js'
import type { StreamHandler } from './stream-registry.js'
import type { Handler, NodeCounters } from './types.js'

/** What a link needs from its node. @internal */
export interface LinkHost {
  handler(topic: string): Handler | undefined
  streamHandler(topic: string): StreamHandler | undefined
  /** The priority this node declared for `topic` (`handle(topic, h, { priority })`). */
  topicPriority(topic: string): Priority | undefined
  /** Messages accepted by `send` and never acknowledged by the peer, reported when the link ends. */
  dropped(link: PeerLink, topic: string, count: number): void
  /** A handler of this node threw (or rejected) on something the peer sent (`handler:failed`). */
  handlerFailed(
    from: { id: string; name: string | undefined },
    topic: string,
    kind: HandlerKind,
    error: unknown,
  ): void
  /**
   * The link looks stalled (nothing arrived for `stallTimeoutMs` while it waited for the peer, and a
   * ping went unanswered); `recovered` aborts when traffic arrives again or the link ends.
   */
  stalled(link: PeerLink, recovered: AbortSignal): void
  /**
   * The peer is suspected (a request or ping to it timed out): the node probes its liveness
   * (`PeerLink.probe`) and closes the connection when the probe goes unanswered.
   */
  suspect(link: PeerLink, trigger: ProbeTrigger): void
  /** True once the node is stopping: new requests from peers are refused. */
  stopping(): boolean
  readonly stats: NodeCounters
  readonly log: Logger
  readonly localName: string
  /** This node's id. */
  readonly localId: string
  readonly maxInFlightRequests: number
  readonly maxConcurrentHandlers: number
  readonly maxQueuedMessages: number
  readonly maxMessageSize: number
  readonly helloTimeout: number
  readonly maxProtocolErrors: number
  readonly maxByteStreams: number
  readonly maxStreamOpensPerSecond: number
  readonly partialFrameTimeoutMs: number
  readonly stallTimeoutMs: number
  /** The least time a liveness probe waits for its answer (ms). */
  readonly probeTimeoutMs: number
  /** Bytes of messages a bulk lane may have in flight (one message always goes). */
  readonly maxBulkBytesInFlight: number
  /** Bytes of envelopes one normal or bulk lane hands to dispatch before yielding the event loop. */
  readonly maxLaneBytesPerTurn: number
  /** Scale the bulk window with the path's lowest RTT. */
  readonly bulkWindowScaling: boolean
}

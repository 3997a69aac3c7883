import { NodeError } from './errors.js'

/** Why a peer refused a byte stream. */
export type StreamRefusal = 'no-handler' | 'limit' | 'stopping' | 'protocol' | 'reset'

/**
 * A peer refused a byte stream opened with `openStream`: no stream handler for the topic
 * (`no-handler`), too many byte streams open (`limit`), the peer is stopping (`stopping`), it
 * answered something that is not the stream protocol (`protocol`), or it reset the stream before
 * its answer arrived (`reset`: its stream handler failed at once, and QUIC may drop the acceptance
 * the reset overtakes).
 */
export class StreamRefusedError extends NodeError {
  /** The node id of the peer that refused the stream. */
  readonly peer: string
  /** The topic the stream was opened on. */
  readonly topic: string
  /** Why the peer refused it: `no-handler`, `limit`, `stopping`, `protocol` or `reset`. */
  readonly reason: StreamRefusal
  constructor(peer: string, topic: string, reason: StreamRefusal, options?: ErrorOptions) {
    super(
      `peer ${peer} refused a byte stream on topic ${JSON.stringify(topic)}: ${REFUSAL_TEXT[reason]}`,
      options,
    )
    this.peer = peer
    this.topic = topic
    this.reason = reason
  }
}

const REFUSAL_TEXT: Record<StreamRefusal, string> = {
  'no-handler': 'it has no stream handler for this topic (handleStream)',
  limit: 'too many byte streams are open',
  stopping: 'it is stopping',
  protocol: 'its answer is not the byte stream protocol',
  reset: 'it reset the stream before its answer arrived (its stream handler failed at once?)',
}

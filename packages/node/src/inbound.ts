import { shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import type { AckBatcher } from './ack-batcher.js'
import { type Envelope, encodeEnvelope, toWireError, type WireError } from './envelope.js'
import { MalformedEnvelopeError, NoHandlerError, PeerUnavailableError, RemoteError } from './errors.js'
import type { HandlerScheduler } from './handler-scheduler.js'
import { CONTROL_LANE, SMALL_ANSWER_BYTES } from './lanes.js'
import type { LinkHost } from './link-host.js'
import { PROBE_PING_ID } from './liveness-probe.js'
import type { RequestTable } from './request-table.js'
import { STALL_PING_ID } from './stall-watch.js'
import type { Handler, PeerStats } from './types.js'

/** A message or request waiting for (or running in) a handler. */
export type Work = Extract<Envelope, { kind: 'msg' | 'req' }>

/** What the inbound side needs from its link. @internal */
export interface InboundLink {
  readonly id: string
  readonly name: string | undefined
  readonly host: LinkHost
  readonly stats: PeerStats
  /** Aborted when the link ends (handlers see it). */
  readonly signal: AbortSignal
  readonly requests: RequestTable
  readonly scheduler: HandlerScheduler<Work>
  readonly acks: AckBatcher
  /** The largest envelope the peer accepts. */
  maxSend(): number
  /** The peer acknowledged `count` messages of our lane `lane`; false when impossible. */
  ack(lane: number, count: number): boolean
  /** Sends on the control lane; never throws. */
  control(envelope: Envelope, bytes?: Uint8Array): void
  /** Queues an encoded envelope on the lane of `topic`. */
  enqueueOnTopicLane(topic: string, bytes: Uint8Array): Promise<void>
  malformed(error: unknown): void
  countReceived(): void
  unexpected(): void
  /** The pong of the liveness probe's ping arrived (see liveness-probe.ts). */
  probeAnswered(): void
}

/**
 * The inbound half of a link: dispatches each envelope read from a lane (answers settle requests,
 * messages and requests go to the per-lane handler scheduler, acks to the outgoing lanes), runs
 * handlers and sends their answers (small ones on the control lane).
 * @internal
 */
export class Inbound {
  readonly #link: InboundLink

  constructor(link: InboundLink) {
    this.#link = link
  }

  dispatch(envelope: Envelope, lane: number): void {
    switch (envelope.kind) {
      case 'hello':
      case 'lane':
        this.#link.malformed(new MalformedEnvelopeError('unexpected', `a ${envelope.kind} inside a lane`))
        return
      case 'msg':
      case 'req':
        this.#link.countReceived()
        if (envelope.kind === 'req') this.#link.stats.requestsReceived++
        this.#link.scheduler.push(lane, envelope)
        return
      case 'res':
      case 'err': {
        const pending = this.#link.requests.take(envelope.id, 'req', envelope.topic)
        if (pending === undefined) {
          this.#link.unexpected()
          return
        }
        this.#link.countReceived()
        if (envelope.kind === 'res') pending.settle(undefined, envelope.payload)
        else {
          this.#link.stats.errorsReceived++
          pending.settle(this.#remoteError(envelope.topic, envelope.error))
        }
        return
      }
      case 'ping':
        this.#link.countReceived()
        this.#link.control({ kind: 'pong', id: envelope.id })
        return
      case 'pong': {
        const pending = this.#link.requests.take(envelope.id, 'ping', '')
        if (pending === undefined && envelope.id === STALL_PING_ID) {
          this.#link.countReceived()
          return
        }
        if (pending === undefined && envelope.id === PROBE_PING_ID) {
          this.#link.countReceived()
          this.#link.probeAnswered()
          return
        }
        if (pending === undefined) {
          this.#link.unexpected()
          return
        }
        this.#link.countReceived()
        pending.settle(undefined)
        return
      }
      case 'ack': {
        if (lane !== CONTROL_LANE || !this.#link.ack(envelope.id - 1, envelope.count)) {
          this.#link.malformed(
            new MalformedEnvelopeError(
              'unexpected',
              `an ack of ${envelope.count} on lane ${envelope.id - 1}`,
            ),
          )
          return
        }
        this.#link.countReceived()
      }
    }
  }

  /** Runs the handler of a message or request; returns its promise when one runs. */
  work(work: Work, lane: number): Promise<unknown> | undefined {
    const { topic } = work
    const handler = this.#link.host.handler(topic)
    if (work.kind === 'msg') {
      this.#link.acks.delivered(lane)
      if (handler === undefined) {
        this.#link.stats.unhandled++
        this.#link.host.stats.unhandled++
        return undefined
      }
      try {
        const result = this.#call(handler, topic, work.payload, 'message')
        // a synchronous handler frees its slot at once (no promise on the hot path)
        if (!isPromiseLike(result)) return undefined
        return Promise.resolve(result).catch((error: unknown) => this.#handlerThrew(topic, 'message', error))
      } catch (error) {
        this.#handlerThrew(topic, 'message', error)
        return undefined
      }
    }
    const { id } = work
    if (this.#link.host.stopping()) {
      const error = { type: 'stopping', name: 'NodeStoppedError', message: 'the node is stopping' } as const
      this.#reply({ kind: 'err', topic, id, error })
      return undefined
    }
    if (handler === undefined) {
      const error = {
        type: 'no-handler',
        name: 'NoHandlerError',
        message: `no handler for ${topic}`,
      } as const
      this.#reply({ kind: 'err', topic, id, error })
      return undefined
    }
    const answer = (value: unknown) => this.#reply({ kind: 'res', topic, id, payload: value })
    const fail = (error: unknown) => {
      this.#handlerThrew(topic, 'request', error)
      this.#reply({ kind: 'err', topic, id, error: toWireError(error) })
    }
    try {
      const result = this.#call(handler, topic, work.payload, 'request')
      if (isPromiseLike(result)) return Promise.resolve(result).then(answer, fail)
      answer(result)
    } catch (error) {
      fail(error)
    }
    return undefined
  }

  #handlerThrew(topic: string, kind: 'message' | 'request', error: unknown): void {
    const host = this.#link.host
    host.stats.handlerErrors++
    // a request's caller gets the error; a message's failure is known here only
    const fields = { topic, peer: shortId(this.#link.id), error: errorMessage(error) }
    if (kind === 'message') host.log.warn('message handler threw', fields)
    else host.log.debug('request handler threw; the caller gets a RemoteError', fields)
    host.handlerFailed(this.#link, topic, kind, error)
  }

  #remoteError(topic: string, error: WireError): Error {
    switch (error.type) {
      case 'no-handler':
        return new NoHandlerError(this.#link.id, topic)
      case 'stopping':
        return new PeerUnavailableError(this.#link.id, 'it is stopping', { reason: 'shutdown' })
      default:
        return new RemoteError(this.#link.id, topic, error.name, error.message, error.code)
    }
  }

  #call(handler: Handler, topic: string, payload: unknown, kind: 'message' | 'request'): unknown {
    return handler(payload, {
      from: { id: this.#link.id, name: this.#link.name },
      topic,
      kind,
      signal: this.#link.signal,
    })
  }

  #reply(envelope: Extract<Envelope, { kind: 'res' | 'err' }>): void {
    let bytes: Uint8Array
    try {
      bytes = encodeEnvelope(envelope, this.#link.maxSend())
    } catch (error) {
      // the handler's answer cannot be sent (too large, not encodable): a failure of the handler
      // here, and the caller is told why
      if (envelope.kind !== 'res') return
      this.#handlerThrew(envelope.topic, 'request', error)
      try {
        const err = {
          kind: 'err',
          topic: envelope.topic,
          id: envelope.id,
          error: toWireError(error),
        } as const
        bytes = encodeEnvelope(err, this.#link.maxSend())
      } catch {
        return // cannot happen with MIN_MESSAGE_SIZE; never throw from here
      }
    }
    // small answers take the control lane; large ones their topic's lane (behind its other traffic)
    if (bytes.byteLength <= SMALL_ANSWER_BYTES) {
      this.#link.control(envelope, bytes)
      return
    }
    this.#link.enqueueOnTopicLane(envelope.topic, bytes).catch((error: unknown) =>
      this.#link.host.log.debug('answer not sent', {
        peer: shortId(this.#link.id),
        error: errorMessage(error),
      }),
    )
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

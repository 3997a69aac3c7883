import { errorMessage, type Logger, shortId, throwIfAborted } from '@peer/discovery-core'
import { CODE, type Connection, type MessageChannel, type Stream } from '@peer/transport-quic'
import { AckBatcher } from './ack-batcher.js'
import { decodeEnvelope, type Envelope, encodeEnvelope, toWireError, type WireError } from './envelope.js'
import {
  MalformedEnvelopeError,
  NodeStoppedError,
  NoHandlerError,
  PeerUnavailableError,
  RemoteError,
} from './errors.js'
import { HandlerScheduler } from './handler-scheduler.js'
import { CONTROL_LANE, LANE_COUNT, laneOf, type Priority, SMALL_ANSWER_BYTES } from './lanes.js'
import { OutLane } from './out-lane.js'
import { RateLimiter } from './rate-limiter.js'
import { RequestTable } from './request-table.js'
import { type PeerStream, type StreamHandler, StreamRegistry } from './stream-registry.js'
import type { Handler, NodeStats, PeerInfo, PeerStats } from './types.js'

/** What a link needs from its node. @internal */
export interface LinkHost {
  handler(topic: string): Handler | undefined
  streamHandler(topic: string): StreamHandler | undefined
  /** The priority this node declared for `topic` (`handle(topic, h, { priority })`). */
  topicPriority(topic: string): Priority | undefined
  /** Messages accepted by `send` and never acknowledged by the peer, reported when the link ends. */
  dropped(link: PeerLink, topic: string, count: number): void
  /** True once the node is stopping: new requests from peers are refused. */
  stopping(): boolean
  readonly stats: NodeStats
  readonly log: Logger
  readonly localName: string
  readonly maxInFlightRequests: number
  readonly maxConcurrentHandlers: number
  readonly maxQueuedMessages: number
  readonly maxMessageSize: number
  readonly helloTimeout: number
  readonly maxProtocolErrors: number
  readonly maxByteStreams: number
  readonly maxStreamOpensPerSecond: number
  readonly partialFrameTimeoutMs: number
}

/**
 * Messages written on one lane and not yet acknowledged before writing waits for acks: a record of
 * at most this many entries per lane (topic and count), never the payloads.
 */
export const MAX_UNACKED = 65_536

/** Messages a lane's channel reads ahead of the handler backlog before it stops reading. */
const LANE_READ_AHEAD = 256

/** How long a peer that finished its channel has to close the connection before we do. */
const PEER_CLOSE_GRACE_MS = 2000

type Work = Extract<Envelope, { kind: 'msg' | 'req' }> & { readonly lane: number }

/**
 * One trusted peer's messaging session on one connection. Each side opens up to
 * {@link LANE_COUNT} message channels (lanes; the control lane with `hello` first, the others on
 * first use), so topics do not wait for each other; the pieces: outgoing lanes ({@link OutLane}),
 * the requests in flight ({@link RequestTable}), per-lane handler scheduling
 * ({@link HandlerScheduler}), delivery acknowledgements ({@link AckBatcher}) and byte streams
 * ({@link StreamRegistry}). A peer that breaks the protocol more than `maxProtocolErrors` times
 * is disconnected with an application error code.
 * @internal
 */
export class PeerLink {
  readonly id: string
  readonly connection: Connection
  readonly direction: 'inbound' | 'outbound'
  name: string | undefined
  upSince = 0
  readonly stats: PeerStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    requestsSent: 0,
    requestsReceived: 0,
    timeouts: 0,
    errorsReceived: 0,
    malformed: 0,
    unexpected: 0,
    unhandled: 0,
    inFlight: 0,
    rtt: undefined,
    messagesDropped: 0,
    protocolErrors: 0,
    byteStreams: 0,
    unconfirmed: 0,
  }

  readonly #host: LinkHost
  readonly #lifetime = new AbortController()
  readonly #idleWaiters = new Set<() => void>()
  readonly #requests: RequestTable
  readonly #lanes: OutLane[]
  readonly #scheduler: HandlerScheduler<Work>
  readonly #acks: AckBatcher
  readonly #streams: StreamRegistry
  readonly #streamOpens: RateLimiter
  /** Lanes the peer opened (by lane index). */
  readonly #inLanes = new Set<number>()
  readonly #reads: Array<Promise<void>> = []
  #helloReceived: ((hello: Extract<Envelope, { kind: 'hello' }>) => void) | undefined
  #helloFailed: ((error: Error) => void) | undefined
  #closedError: Error | undefined
  #pingRtt: number | undefined
  #maxSend: number

  constructor(connection: Connection, direction: 'inbound' | 'outbound', host: LinkHost) {
    this.id = connection.remoteId
    this.connection = connection
    this.direction = direction
    this.#host = host
    this.#maxSend = host.maxMessageSize
    const idle = () => this.#checkIdle()
    this.#requests = new RequestTable(this.id, host.maxInFlightRequests, idle, () => this.stats.timeouts++)
    const laneHost = {
      peer: this.id,
      openChannel: (lane: number) => this.#openLane(lane),
      countSent: (bytes: number) => {
        this.stats.messagesSent++
        this.stats.bytesSent += bytes
        host.stats.messagesSent++
        host.stats.bytesSent += bytes
      },
      maxQueued: host.maxQueuedMessages,
      maxUnacked: MAX_UNACKED,
      closedError: () => (this.#closedError === undefined ? undefined : this.#unavailable()),
    }
    this.#lanes = Array.from({ length: LANE_COUNT }, (_, i) => new OutLane(i, laneHost, idle))
    this.#scheduler = new HandlerScheduler<Work>(
      LANE_COUNT,
      host.maxConcurrentHandlers,
      host.maxQueuedMessages,
      (work) => this.#work(work),
      idle,
    )
    this.#acks = new AckBatcher(LANE_COUNT, (lane, count) =>
      this.#control({ kind: 'ack', id: lane + 1, count }),
    )
    this.#streams = new StreamRegistry({
      peer: this.id,
      peerName: () => this.name,
      streamHandler: (topic) => host.streamHandler(topic),
      stopping: () => host.stopping(),
      maxStreams: host.maxByteStreams,
      headerTimeoutMs: host.helloTimeout,
      log: host.log,
      protocolError: (detail) => this.#protocolError(detail),
      signal: this.#lifetime.signal,
    })
    this.#streamOpens = new RateLimiter(host.maxStreamOpensPerSecond)
  }

  /** True once the link was closed (connection gone or node stopping). */
  get closed(): boolean {
    return this.#closedError !== undefined
  }

  /** Resolves when every read loop has ended. */
  get reading(): Promise<void> {
    return Promise.all(this.#reads).then(() => {})
  }

  /**
   * Opens our control lane and sends `hello`, accepts the peer's lanes and waits for its `hello`,
   * within `helloTimeout`. Then serves the peer's lanes and byte streams.
   */
  async open(): Promise<void> {
    const timeout = AbortSignal.timeout(this.#host.helloTimeout)
    const signal = AbortSignal.any([timeout, this.#lifetime.signal])
    const helloReceived = new Promise<Extract<Envelope, { kind: 'hello' }>>((resolve, reject) => {
      this.#helloReceived = resolve
      this.#helloFailed = reject
    })
    void this.#acceptChannels()
    try {
      const [, hello] = await Promise.all([
        this.connection.openChannel(this.#channelOptions(signal)).then(async (out) => {
          this.#lanes[CONTROL_LANE]!.attach(out)
          const hello = {
            kind: 'hello',
            name: this.#host.localName,
            maxMessageSize: this.#host.maxMessageSize,
          }
          await this.#lanes[CONTROL_LANE]!.enqueue(encodeEnvelope(hello as Envelope, Infinity))
          await out.flush()
        }),
        raceAbort(helloReceived, signal),
      ])
      this.name = hello.name
      // never send the peer more than it accepts (its frame limit would reset the channel)
      this.#maxSend = Math.min(this.#host.maxMessageSize, hello.maxMessageSize ?? this.#host.maxMessageSize)
    } catch (error) {
      if (timeout.aborted)
        throw new PeerUnavailableError(this.id, `no hello within ${this.#host.helloTimeout} ms`)
      throw error
    }
    this.upSince = Date.now()
    void this.#acceptStreams()
  }

  /** A snapshot for `peers()`. */
  info(fallbackName: string | undefined): PeerInfo {
    let transportRtt: number | undefined
    try {
      transportRtt = this.connection.rtt
    } catch {
      transportRtt = undefined
    }
    return Object.freeze({
      id: this.id,
      name: this.name ?? fallbackName,
      direction: this.direction,
      address: { ...this.connection.remoteAddress },
      upSince: this.upSince,
      stats: Object.freeze({
        ...this.stats,
        inFlight: this.#requests.size,
        rtt: this.#pingRtt ?? transportRtt,
        byteStreams: this.#streams.size,
        unconfirmed: this.#lanes.reduce((n, l) => n + l.unacked, 0),
      }),
    })
  }

  /** Sends a fire-and-forget message on its topic's lane; resolves once the transport buffered it. */
  async send(topic: string, payload: unknown, priority: Priority | undefined): Promise<void> {
    const bytes = encodeEnvelope({ kind: 'msg', topic, payload }, this.#maxSend)
    await this.#lanes[this.#laneOf(topic, priority)]!.enqueue(bytes, topic)
  }

  /** Sends a request on its topic's lane and waits for its answer. */
  request(
    topic: string,
    payload: unknown,
    timeout: number,
    signal: AbortSignal | undefined,
    priority: Priority | undefined,
  ): Promise<unknown> {
    throwIfAborted(signal)
    if (this.#closedError !== undefined) throw this.#unavailable()
    const id = this.#requests.allocate()
    const bytes = encodeEnvelope({ kind: 'req', topic, id, payload }, this.#maxSend)
    this.stats.requestsSent++
    const lane = this.#lanes[this.#laneOf(topic, priority)]!
    return this.#requests.wait('req', id, topic, timeout, signal, () => lane.enqueue(bytes))
  }

  /** Measures the application round-trip time (ms) with a ping envelope on the control lane. */
  async ping(timeout: number, signal: AbortSignal | undefined): Promise<number> {
    throwIfAborted(signal)
    if (this.#closedError !== undefined) throw this.#unavailable()
    const id = this.#requests.allocate()
    const started = performance.now()
    const bytes = encodeEnvelope({ kind: 'ping', id }, Infinity)
    await this.#requests.wait('ping', id, '', timeout, signal, () =>
      this.#lanes[CONTROL_LANE]!.enqueue(bytes),
    )
    const rtt = performance.now() - started
    this.#pingRtt = rtt
    return rtt
  }

  /** Opens a byte stream to the peer on `topic`. */
  openStream(topic: string, signal: AbortSignal | undefined): Promise<PeerStream> {
    if (this.#closedError !== undefined) return Promise.reject(this.#unavailable())
    return this.#streams.open(this.connection, topic, signal)
  }

  /**
   * Resolves when no request is in flight, no handler runs, nothing waits to be sent and every
   * message sent was acknowledged.
   */
  whenIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.add(resolve))
  }

  /**
   * Ends the link: every request in flight fails with `error`, handlers see their signal abort,
   * byte streams are reset, messages never acknowledged are reported dropped, and nothing more is
   * sent or dispatched. Idempotent.
   */
  close(error: Error): void {
    if (this.#closedError !== undefined) return
    this.#closedError = error
    this.#lifetime.abort(error)
    this.#requests.failAll(this.#unavailable())
    this.#scheduler.close()
    this.#acks.close()
    this.#streams.closeAll()
    for (const lane of this.#lanes) {
      for (const [topic, count] of lane.close()) {
        this.stats.messagesDropped += count
        this.#host.stats.messagesDropped += count
        this.#host.dropped(this, topic, count)
      }
    }
    this.#checkIdle()
  }

  /** Sends pending acknowledgements, flushes and finishes our lanes (bounded by `ms`). */
  async finish(ms: number): Promise<void> {
    this.#acks.flush()
    const timer = new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
    await Promise.race([Promise.all(this.#lanes.map((l) => l.finish().catch(() => {}))), timer])
  }

  // ---- lanes ----

  #laneOf(topic: string, priority: Priority | undefined): number {
    return laneOf(topic, priority ?? this.#host.topicPriority(topic))
  }

  #channelOptions(signal?: AbortSignal) {
    return {
      maxFrameSize: this.#host.maxMessageSize,
      // a lane whose handlers are stuck stops reading soon, so QUIC flow control pushes back on it
      maxQueuedMessages: LANE_READ_AHEAD,
      partialFrameTimeoutMs: this.#host.partialFrameTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
    }
  }

  async #openLane(lane: number): Promise<MessageChannel> {
    const channel = await this.connection.openChannel(this.#channelOptions(this.#lifetime.signal))
    await channel.send(encodeEnvelope({ kind: 'lane', id: lane + 1 }, Infinity))
    return channel
  }

  /** Sends a control envelope (ack, pong, small answer) on the control lane; never throws. */
  #control(envelope: Envelope, bytes?: Uint8Array): void {
    if (this.#closedError !== undefined) return
    this.#lanes[CONTROL_LANE]!.enqueue(bytes ?? encodeEnvelope(envelope, Infinity)).catch((error: unknown) =>
      this.#host.log.debug('control envelope not sent', {
        peer: shortId(this.id),
        error: errorMessage(error),
      }),
    )
  }

  #reply(envelope: Extract<Envelope, { kind: 'res' | 'err' }>): void {
    let bytes: Uint8Array
    try {
      bytes = encodeEnvelope(envelope, this.#maxSend)
    } catch (error) {
      // the handler's answer cannot be sent (too large, not encodable): tell the caller why
      if (envelope.kind !== 'res') return
      try {
        const err = {
          kind: 'err',
          topic: envelope.topic,
          id: envelope.id,
          error: toWireError(error),
        } as const
        bytes = encodeEnvelope(err, this.#maxSend)
      } catch {
        return // cannot happen with MIN_MESSAGE_SIZE; never throw from here
      }
    }
    // small answers take the control lane; large ones their topic's lane (behind its other traffic)
    if (bytes.byteLength <= SMALL_ANSWER_BYTES) {
      this.#control(envelope, bytes)
      return
    }
    this.#lanes[this.#laneOf(envelope.topic, undefined)]!.enqueue(bytes).catch((error: unknown) =>
      this.#host.log.debug('answer not sent', { peer: shortId(this.id), error: errorMessage(error) }),
    )
  }

  #unavailable(): Error {
    const error = this.#closedError
    if (error instanceof NodeStoppedError || error instanceof PeerUnavailableError) return error
    return new PeerUnavailableError(this.id, error?.message ?? 'the link is closed', { cause: error })
  }

  // ---- receiving ----

  /** Accepts the peer's lanes: the first envelope says which lane a channel is. */
  async #acceptChannels(): Promise<void> {
    const signal = this.#lifetime.signal
    for (;;) {
      let channel: MessageChannel
      try {
        channel = await this.connection.acceptChannel({ ...this.#channelOptions(), signal })
      } catch {
        return // the connection or the link ended
      }
      void this.#startLane(channel)
    }
  }

  async #startLane(channel: MessageChannel): Promise<void> {
    let first: Envelope
    try {
      const bytes = await channel.receive({
        signal: AbortSignal.any([this.#lifetime.signal, AbortSignal.timeout(this.#host.helloTimeout)]),
      })
      if (bytes === undefined)
        throw new MalformedEnvelopeError('unexpected', 'a channel ended before its first envelope')
      this.#countBytes(bytes)
      first = decodeEnvelope(bytes)
    } catch (error) {
      channel.reset(CODE.PROTOCOL_ERROR)
      if (this.#lifetime.signal.aborted) return
      this.#malformed(error)
      this.#helloFailed?.(
        new PeerUnavailableError(this.id, 'its first message is not a valid hello', { cause: error }),
      )
      return
    }
    if (first.kind !== 'hello' && first.kind !== 'lane') {
      this.#malformed(new MalformedEnvelopeError('unexpected', `expected hello, got ${first.kind}`))
      this.#helloFailed?.(new PeerUnavailableError(this.id, `its first message is ${first.kind}, not hello`))
    }
    const lane = first.kind === 'hello' ? CONTROL_LANE : first.kind === 'lane' ? first.id - 1 : -1
    if (lane < 0 || lane >= LANE_COUNT || this.#inLanes.has(lane)) {
      channel.reset(CODE.PROTOCOL_ERROR)
      this.#malformed(
        new MalformedEnvelopeError(
          'unexpected',
          `a channel opened with ${first.kind} ${'id' in first ? first.id : ''}`,
        ),
      )
      return
    }
    this.#inLanes.add(lane)
    if (first.kind === 'hello') {
      this.#countReceived()
      this.#helloReceived?.(first)
      this.#helloFailed = undefined
    }
    const reading = this.#readLoop(channel, lane)
    this.#reads.push(reading)
    await reading
  }

  async #acceptStreams(): Promise<void> {
    const signal = this.#lifetime.signal
    for (;;) {
      let stream: Stream
      try {
        stream = await this.connection.acceptStream({ signal })
      } catch {
        return
      }
      if (!this.#streamOpens.take()) {
        stream.reset(CODE.LIMIT_EXCEEDED)
        this.#protocolError(`more than ${this.#host.maxStreamOpensPerSecond} byte stream opens per second`)
        continue
      }
      void this.#streams.accept(stream)
    }
  }

  async #readLoop(channel: MessageChannel, lane: number): Promise<void> {
    const signal = this.#lifetime.signal
    for (;;) {
      let bytes: Uint8Array | undefined
      try {
        bytes = await channel.receive({ signal })
      } catch (error) {
        if (!signal.aborted) {
          // a broken channel (oversized, truncated or stalled frame, reset) ends the connection
          this.#host.log.warn('peer channel failed: closing the connection', {
            peer: shortId(this.id),
            error: errorMessage(error),
          })
          this.#end(`protocol error: ${errorMessage(error)}`.slice(0, 200), CODE.PROTOCOL_ERROR)
        }
        return
      }
      if (this.#closedError !== undefined) return
      if (bytes === undefined) {
        if (lane !== CONTROL_LANE) return
        // the peer finished its control lane: it is stopping and will close the connection itself
        // (with its reason); close it ourselves only if it does not within the grace period
        this.close(new PeerUnavailableError(this.id, 'it is stopping'))
        const timer = setTimeout(() => this.#end('peer finished its channel'), PEER_CLOSE_GRACE_MS)
        timer.unref()
        void this.connection.closed.then(() => clearTimeout(timer))
        return
      }
      this.#countBytes(bytes)
      let envelope: Envelope
      try {
        envelope = decodeEnvelope(bytes)
      } catch (error) {
        this.#malformed(error)
        continue
      }
      this.#dispatch(envelope, lane)
      // answers keep flowing while handlers are busy; only this lane's full backlog pauses it
      const room = this.#scheduler.room(lane)
      if (room !== undefined) await room
    }
  }

  #end(reason: string, code: number = CODE.NO_ERROR): void {
    this.close(new PeerUnavailableError(this.id, reason))
    closeWithCode(this.connection, reason, code)
  }

  #countBytes(bytes: Uint8Array): void {
    this.stats.bytesReceived += bytes.byteLength
    this.#host.stats.bytesReceived += bytes.byteLength
  }

  #malformed(error: unknown): void {
    this.stats.malformed++
    this.#host.stats.malformed++
    this.#host.log.debug('malformed envelope dropped', { peer: shortId(this.id), error: errorMessage(error) })
    this.#protocolError(errorMessage(error))
  }

  /** Counts a protocol error; past `maxProtocolErrors`, the connection is closed with a reason. */
  #protocolError(detail: string): void {
    if (this.#closedError !== undefined) return
    this.stats.protocolErrors++
    this.#host.stats.protocolErrors++
    if (this.stats.protocolErrors <= this.#host.maxProtocolErrors) return
    const reason = `protocol error: more than ${this.#host.maxProtocolErrors} protocol errors, the last: ${detail}`
    this.#host.log.warn('peer broke the protocol too often: closing the connection', {
      peer: shortId(this.id),
      detail,
    })
    this.#end(reason.slice(0, 200), CODE.PROTOCOL_ERROR)
  }

  #countReceived(): void {
    this.stats.messagesReceived++
    this.#host.stats.messagesReceived++
  }

  #unexpected(): void {
    this.stats.unexpected++
    this.#host.stats.unexpected++
  }

  #dispatch(envelope: Envelope, lane: number): void {
    switch (envelope.kind) {
      case 'hello':
      case 'lane':
        this.#malformed(new MalformedEnvelopeError('unexpected', `a ${envelope.kind} inside a lane`))
        return
      case 'msg':
      case 'req':
        this.#countReceived()
        if (envelope.kind === 'req') this.stats.requestsReceived++
        this.#scheduler.push(lane, { ...envelope, lane })
        return
      case 'res':
      case 'err': {
        const pending = this.#requests.take(envelope.id, 'req', envelope.topic)
        if (pending === undefined) {
          this.#unexpected()
          return
        }
        this.#countReceived()
        if (envelope.kind === 'res') pending.settle(undefined, envelope.payload)
        else {
          this.stats.errorsReceived++
          pending.settle(this.#remoteError(envelope.topic, envelope.error))
        }
        return
      }
      case 'ping':
        this.#countReceived()
        this.#control({ kind: 'pong', id: envelope.id })
        return
      case 'pong': {
        const pending = this.#requests.take(envelope.id, 'ping', '')
        if (pending === undefined) {
          this.#unexpected()
          return
        }
        this.#countReceived()
        pending.settle(undefined)
        return
      }
      case 'ack': {
        const out = this.#lanes[envelope.id - 1]
        if (lane !== CONTROL_LANE || out === undefined || !out.ack(envelope.count)) {
          this.#malformed(
            new MalformedEnvelopeError(
              'unexpected',
              `an ack of ${envelope.count} on lane ${envelope.id - 1}`,
            ),
          )
          return
        }
        this.#countReceived()
      }
    }
  }

  /** Runs the handler of a message or request; returns its promise when one runs. */
  #work(work: Work): Promise<unknown> | undefined {
    const { topic, lane } = work
    const handler = this.#host.handler(topic)
    if (work.kind === 'msg') {
      this.#acks.delivered(lane)
      if (handler === undefined) {
        this.stats.unhandled++
        this.#host.stats.unhandled++
        return undefined
      }
      const onError = (error: unknown) => {
        this.#host.stats.handlerErrors++
        this.#host.log.warn('message handler threw', {
          topic,
          peer: shortId(this.id),
          error: errorMessage(error),
        })
      }
      try {
        const result = this.#call(handler, topic, work.payload, 'message')
        // a synchronous handler frees its slot at once (no promise on the hot path)
        return isPromiseLike(result) ? Promise.resolve(result).catch(onError) : undefined
      } catch (error) {
        onError(error)
        return undefined
      }
    }
    const { id } = work
    if (this.#host.stopping()) {
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
    const fail = (error: unknown) => this.#reply({ kind: 'err', topic, id, error: toWireError(error) })
    try {
      const result = this.#call(handler, topic, work.payload, 'request')
      if (isPromiseLike(result)) return Promise.resolve(result).then(answer, fail)
      answer(result)
    } catch (error) {
      fail(error)
    }
    return undefined
  }

  #remoteError(topic: string, error: WireError): Error {
    switch (error.type) {
      case 'no-handler':
        return new NoHandlerError(this.id, topic)
      case 'stopping':
        return new PeerUnavailableError(this.id, 'it is stopping')
      default:
        return new RemoteError(this.id, topic, error.name, error.message, error.code)
    }
  }

  #call(handler: Handler, topic: string, payload: unknown, kind: 'message' | 'request'): unknown {
    return handler(payload, {
      from: { id: this.id, name: this.name },
      topic,
      kind,
      signal: this.#lifetime.signal,
    })
  }

  #idle(): boolean {
    return this.#requests.size === 0 && this.#scheduler.idle && this.#lanes.every((l) => l.idle)
  }

  #checkIdle(): void {
    if (!this.#idle()) return
    for (const wake of [...this.#idleWaiters]) wake()
    this.#idleWaiters.clear()
  }
}

/** Closes with an application error code (the transport's `close` takes one; its type does not say so yet). */
function closeWithCode(connection: Connection, reason: string, code: number): void {
  const close = connection.close as (this: Connection, reason?: string, code?: number) => Promise<unknown>
  close.call(connection, reason, code).catch(() => {})
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

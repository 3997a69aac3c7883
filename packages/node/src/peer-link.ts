import { abortErrorFor, errorMessage, type Logger, shortId, throwIfAborted } from '@peer/discovery-core'
import { CODE, type Connection, ConnectionClosedError, type MessageChannel } from '@peer/transport-quic'
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  MAX_REQUEST_ID,
  toWireError,
  type WireError,
} from './envelope.js'
import {
  MalformedEnvelopeError,
  NodeStoppedError,
  NoHandlerError,
  PeerUnavailableError,
  RemoteError,
  RequestTimeoutError,
  TooManyRequestsError,
  unavailableFromClose,
} from './errors.js'
import type { Handler, NodeStats, PeerInfo, PeerStats } from './types.js'

/** What a link needs from its node. @internal */
export interface LinkHost {
  handler(topic: string): Handler | undefined
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
}

/** How long a peer that finished its channel has to close the connection before we do. */
const PEER_CLOSE_GRACE_MS = 2000

interface Pending {
  readonly kind: 'req' | 'ping'
  readonly topic: string
  readonly sentAt: number
  settle(error: Error | undefined, value?: unknown): void
}

/**
 * One trusted peer's messaging session on one connection: one outgoing message channel opened by
 * each side (so each side's envelopes stay in order), a `hello` exchange, a serial bounded write
 * queue, the table of requests in flight and the read loop that dispatches to handlers.
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
  }

  readonly #host: LinkHost
  readonly #pending = new Map<number, Pending>()
  readonly #lifetime = new AbortController()
  readonly #idleWaiters = new Set<() => void>()
  readonly #slotWaiters: Array<() => void> = []
  /** Messages and requests waiting for a handler slot, in arrival order (bounded). */
  readonly #backlog: Array<Extract<Envelope, { kind: 'msg' | 'req' }>> = []
  #out: MessageChannel | undefined
  #in: MessageChannel | undefined
  #nextId = 1
  #queued = 0
  #tail: Promise<void> = Promise.resolve()
  #running = 0
  #closedError: Error | undefined
  #pingRtt: number | undefined
  #reading: Promise<void> = Promise.resolve()
  #maxSend: number

  constructor(connection: Connection, direction: 'inbound' | 'outbound', host: LinkHost) {
    this.id = connection.remoteId
    this.connection = connection
    this.direction = direction
    this.#host = host
    this.#maxSend = host.maxMessageSize
  }

  /** True once the link was closed (connection gone or node stopping). */
  get closed(): boolean {
    return this.#closedError !== undefined
  }

  /** Resolves when the read loop has ended. */
  get reading(): Promise<void> {
    return this.#reading
  }

  /**
   * Opens our channel, sends `hello`, accepts the peer's channel and reads its `hello`, within
   * `helloTimeout`. Then starts the read loop.
   */
  async open(): Promise<void> {
    const timeout = AbortSignal.timeout(this.#host.helloTimeout)
    const signal = AbortSignal.any([timeout, this.#lifetime.signal])
    const channelOptions = { maxFrameSize: this.#host.maxMessageSize, signal }
    try {
      const [, inc] = await Promise.all([
        this.connection.openChannel(channelOptions).then(async (out) => {
          this.#out = out
          await this.#sendNow(
            encodeEnvelope(
              { kind: 'hello', name: this.#host.localName, maxMessageSize: this.#host.maxMessageSize },
              Infinity,
            ),
          )
          await out.flush()
          return out
        }),
        this.connection.acceptChannel(channelOptions).then((inc) => {
          this.#in = inc
          return inc
        }),
      ])
      const first = await inc.receive({ signal })
      if (first === undefined) {
        const closed = inc.error instanceof ConnectionClosedError ? inc.error.info : undefined
        if (closed !== undefined) throw unavailableFromClose(this.id, closed)
        throw new PeerUnavailableError(this.id, 'it finished its channel before hello', {
          reason: 'shutdown',
        })
      }
      this.stats.bytesReceived += first.byteLength
      this.#host.stats.bytesReceived += first.byteLength
      let hello: Envelope
      try {
        hello = decodeEnvelope(first)
      } catch (error) {
        this.#countMalformed(error)
        throw new PeerUnavailableError(this.id, 'its first message is not a valid hello', {
          cause: error,
          reason: 'protocol-error',
        })
      }
      if (hello.kind !== 'hello') {
        this.#countMalformed(new MalformedEnvelopeError('unexpected', `expected hello, got ${hello.kind}`))
        throw new PeerUnavailableError(this.id, `its first message is ${hello.kind}, not hello`, {
          reason: 'protocol-error',
        })
      }
      this.#countReceived()
      this.name = hello.name
      // never send the peer more than it accepts (its frame limit would reset the channel)
      this.#maxSend = Math.min(this.#host.maxMessageSize, hello.maxMessageSize ?? this.#host.maxMessageSize)
    } catch (error) {
      if (timeout.aborted)
        throw new PeerUnavailableError(this.id, `no hello within ${this.#host.helloTimeout} ms`, {
          reason: 'protocol-error',
        })
      throw error
    }
    this.upSince = Date.now()
    this.#reading = this.#readLoop(this.#in!)
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
        inFlight: this.#pending.size,
        rtt: this.#pingRtt ?? transportRtt,
      }),
    })
  }

  /** Sends a fire-and-forget message; resolves once it is queued in the transport. */
  async send(topic: string, payload: unknown): Promise<void> {
    const bytes = encodeEnvelope({ kind: 'msg', topic, payload }, this.#maxSend)
    await this.#enqueue(bytes)
  }

  /** Sends a request and waits for its answer. */
  request(
    topic: string,
    payload: unknown,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    throwIfAborted(signal)
    const id = this.#allocateId()
    const bytes = encodeEnvelope({ kind: 'req', topic, id, payload }, this.#maxSend)
    this.stats.requestsSent++
    return this.#awaitAnswer('req', id, topic, bytes, timeout, signal)
  }

  /** Measures the application round-trip time (ms) with a ping envelope. */
  async ping(timeout: number, signal: AbortSignal | undefined): Promise<number> {
    throwIfAborted(signal)
    const id = this.#allocateId()
    const started = performance.now()
    await this.#awaitAnswer('ping', id, '', encodeEnvelope({ kind: 'ping', id }, Infinity), timeout, signal)
    const rtt = performance.now() - started
    this.#pingRtt = rtt
    return rtt
  }

  /** Resolves when no request is in flight, no handler runs and nothing waits to be sent. */
  whenIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.add(resolve))
  }

  /**
   * Ends the link: every request in flight fails with `error`, handlers see their signal abort,
   * and nothing more is sent or dispatched. Idempotent.
   */
  close(error: Error): void {
    if (this.#closedError !== undefined) return
    this.#closedError = error
    this.#lifetime.abort(error)
    for (const [id, pending] of [...this.#pending]) {
      this.#pending.delete(id)
      pending.settle(error)
    }
    this.#backlog.length = 0
    for (const wake of this.#slotWaiters.splice(0)) wake()
    this.#checkIdle()
  }

  /** Flushes and finishes our channel (bounded by `ms`). */
  async finish(ms: number): Promise<void> {
    const out = this.#out
    if (out === undefined) return
    const timer = new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
    await Promise.race([this.#tail.then(() => out.close()).catch(() => {}), timer])
  }

  // ---- sending ----

  #allocateId(): number {
    if (this.#closedError !== undefined) throw this.#unavailable()
    if (this.#pending.size >= this.#host.maxInFlightRequests) {
      throw new TooManyRequestsError(this.id, 'requests in flight', this.#host.maxInFlightRequests)
    }
    let id = this.#nextId
    while (this.#pending.has(id)) id = id >= MAX_REQUEST_ID ? 1 : id + 1
    this.#nextId = id >= MAX_REQUEST_ID ? 1 : id + 1
    return id
  }

  #awaitAnswer(
    kind: 'req' | 'ping',
    id: number,
    topic: string,
    bytes: Uint8Array,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const onAbort = () => {
        if (this.#pending.get(id) !== pending) return
        this.#pending.delete(id)
        pending.settle(abortErrorFor(signal!))
      }
      const pending: Pending = {
        kind,
        topic,
        sentAt: Date.now(),
        settle: (error, value) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          if (error === undefined) resolve(value)
          else reject(error)
          this.#checkIdle()
        },
      }
      this.#pending.set(id, pending)
      timer = setTimeout(() => {
        if (this.#pending.get(id) !== pending) return
        this.#pending.delete(id)
        this.stats.timeouts++
        pending.settle(new RequestTimeoutError(this.id, topic, timeout))
      }, timeout)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#enqueue(bytes).catch((error: unknown) => {
        if (this.#pending.get(id) !== pending) return
        this.#pending.delete(id)
        pending.settle(error instanceof Error ? error : new Error(String(error)))
      })
    })
  }

  /**
   * Queues an encoded envelope behind the previous ones (order is kept); bounded. With nothing
   * queued it goes to the channel at once (the channel copies it synchronously, in call order).
   */
  #enqueue(bytes: Uint8Array): Promise<void> {
    if (this.#closedError !== undefined) return Promise.reject(this.#unavailable())
    if (this.#queued >= this.#host.maxQueuedMessages) {
      return Promise.reject(
        new TooManyRequestsError(this.id, 'queued messages', this.#host.maxQueuedMessages),
      )
    }
    this.#queued++
    const written = this.#queued === 1 ? this.#sendNow(bytes) : this.#tail.then(() => this.#sendNow(bytes))
    this.#tail = written.then(this.#dequeued, this.#dequeued)
    return written
  }

  readonly #dequeued = (): void => {
    this.#queued--
    if (this.#queued === 0) this.#checkIdle()
  }

  #sendNow(bytes: Uint8Array): Promise<void> {
    if (this.#closedError !== undefined) return Promise.reject(this.#unavailable())
    const out = this.#out
    if (out === undefined) return Promise.reject(new PeerUnavailableError(this.id, 'the link is not open'))
    let sent: Promise<void>
    try {
      sent = out.send(bytes)
    } catch (error) {
      sent = Promise.reject(error)
    }
    this.stats.messagesSent++
    this.stats.bytesSent += bytes.byteLength
    this.#host.stats.messagesSent++
    this.#host.stats.bytesSent += bytes.byteLength
    return sent.catch((error: unknown) => {
      if (error instanceof ConnectionClosedError) throw unavailableFromClose(this.id, error.info)
      throw new PeerUnavailableError(this.id, `sending failed: ${errorMessage(error)}`, {
        cause: error,
        reason: 'connection-lost',
      })
    })
  }

  #reply(envelope: Envelope): void {
    let bytes: Uint8Array
    try {
      bytes = encodeEnvelope(envelope, this.#maxSend)
    } catch (error) {
      // the handler's answer cannot be sent (too large, not encodable): tell the caller why
      if (envelope.kind !== 'res') return
      try {
        bytes = encodeEnvelope(
          { kind: 'err', topic: envelope.topic, id: envelope.id, error: toWireError(error) },
          this.#maxSend,
        )
      } catch {
        return // cannot happen with MIN_MESSAGE_SIZE; never throw from here
      }
    }
    this.#enqueue(bytes).catch((error: unknown) =>
      this.#host.log.debug('answer not sent', { peer: shortId(this.id), error: errorMessage(error) }),
    )
  }

  #unavailable(): Error {
    const error = this.#closedError
    if (error instanceof NodeStoppedError || error instanceof PeerUnavailableError) return error
    return new PeerUnavailableError(this.id, error?.message ?? 'the link is closed', {
      cause: error,
      reason: 'connection-lost',
    })
  }

  // ---- receiving ----

  async #readLoop(channel: MessageChannel): Promise<void> {
    const signal = this.#lifetime.signal
    for (;;) {
      let bytes: Uint8Array | undefined
      try {
        bytes = await channel.receive({ signal })
      } catch (error) {
        if (error instanceof ConnectionClosedError) {
          // the connection closed: say how (lost, replaced, the peer stopping, a protocol error)
          this.close(unavailableFromClose(this.id, error.info))
          return
        }
        if (!signal.aborted) {
          // a broken channel (oversized or truncated frame, reset) ends the connection
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
        // a graceful close of the connection (by either side) ends the channel quietly: say how
        const closed = channel.error instanceof ConnectionClosedError ? channel.error.info : undefined
        if (closed !== undefined) {
          this.close(unavailableFromClose(this.id, closed))
          return
        }
        // the peer finished its channel: it is stopping and will close the connection itself
        // (with its reason); close it ourselves only if it does not within the grace period
        this.close(new PeerUnavailableError(this.id, 'it is stopping', { reason: 'shutdown' }))
        const timer = setTimeout(
          () => this.#end('peer finished its channel', CODE.NO_ERROR),
          PEER_CLOSE_GRACE_MS,
        )
        timer.unref()
        void this.connection.closed.then(() => clearTimeout(timer))
        return
      }
      this.stats.bytesReceived += bytes.byteLength
      this.#host.stats.bytesReceived += bytes.byteLength
      let envelope: Envelope
      try {
        envelope = decodeEnvelope(bytes)
      } catch (error) {
        this.#countMalformed(error)
        continue
      }
      this.#dispatch(envelope)
      // answers keep flowing while handlers are busy; only a full backlog pauses reading
      while (this.#backlog.length >= this.#host.maxQueuedMessages && this.#closedError === undefined) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve))
      }
    }
  }

  #end(reason: string, code: number): void {
    this.close(
      new PeerUnavailableError(this.id, reason, {
        reason: code === CODE.PROTOCOL_ERROR ? 'protocol-error' : 'shutdown',
      }),
    )
    this.connection.close(reason, code).catch(() => {})
  }

  #countMalformed(error: unknown): void {
    this.stats.malformed++
    this.#host.stats.malformed++
    this.#host.log.debug('malformed envelope dropped', { peer: shortId(this.id), error: errorMessage(error) })
  }

  #countReceived(): void {
    this.stats.messagesReceived++
    this.#host.stats.messagesReceived++
  }

  #dispatch(envelope: Envelope): void {
    switch (envelope.kind) {
      case 'hello':
        this.#countMalformed(new MalformedEnvelopeError('unexpected', 'a second hello'))
        return
      case 'msg':
      case 'req':
        this.#countReceived()
        if (envelope.kind === 'req') this.stats.requestsReceived++
        if (this.#running >= this.#host.maxConcurrentHandlers || this.#backlog.length > 0) {
          this.#backlog.push(envelope)
          return
        }
        this.#work(envelope)
        return
      case 'res':
      case 'err': {
        const pending = this.#pending.get(envelope.id)
        if (pending === undefined || pending.kind !== 'req' || pending.topic !== envelope.topic) {
          this.stats.unexpected++
          this.#host.stats.unexpected++
          return
        }
        this.#countReceived()
        this.#pending.delete(envelope.id)
        if (envelope.kind === 'res') pending.settle(undefined, envelope.payload)
        else {
          this.stats.errorsReceived++
          pending.settle(this.#remoteError(envelope.topic, envelope.error))
        }
        return
      }
      case 'ping':
        this.#countReceived()
        this.#reply({ kind: 'pong', id: envelope.id })
        return
      case 'pong': {
        const pending = this.#pending.get(envelope.id)
        if (pending === undefined || pending.kind !== 'ping') {
          this.stats.unexpected++
          this.#host.stats.unexpected++
          return
        }
        this.#countReceived()
        this.#pending.delete(envelope.id)
        pending.settle(undefined)
      }
    }
  }

  /** Runs the handler of a message or request (a handler slot is free). */
  #work(envelope: Extract<Envelope, { kind: 'msg' | 'req' }>): void {
    const { topic } = envelope
    const handler = this.#host.handler(topic)
    if (envelope.kind === 'msg') {
      if (handler === undefined) {
        this.stats.unhandled++
        this.#host.stats.unhandled++
        return
      }
      this.#run(handler, topic, envelope.payload, 'message').catch((error: unknown) => {
        this.#host.stats.handlerErrors++
        this.#host.log.warn('message handler threw', {
          topic,
          peer: shortId(this.id),
          error: errorMessage(error),
        })
      })
      return
    }
    const { id } = envelope
    if (this.#host.stopping()) {
      this.#reply({
        kind: 'err',
        topic,
        id,
        error: { type: 'stopping', name: 'NodeStoppedError', message: 'the node is stopping' },
      })
      return
    }
    if (handler === undefined) {
      this.#reply({
        kind: 'err',
        topic,
        id,
        error: { type: 'no-handler', name: 'NoHandlerError', message: `no handler for ${topic}` },
      })
      return
    }
    this.#run(handler, topic, envelope.payload, 'request').then(
      (value) => this.#reply({ kind: 'res', topic, id, payload: value }),
      (error: unknown) => this.#reply({ kind: 'err', topic, id, error: toWireError(error) }),
    )
  }

  #remoteError(topic: string, error: WireError): Error {
    switch (error.type) {
      case 'no-handler':
        return new NoHandlerError(this.id, topic)
      case 'stopping':
        return new PeerUnavailableError(this.id, 'it is stopping', { reason: 'shutdown' })
      default:
        return new RemoteError(this.id, topic, error.name, error.message, error.code)
    }
  }

  async #run(
    handler: Handler,
    topic: string,
    payload: unknown,
    kind: 'message' | 'request',
  ): Promise<unknown> {
    this.#running++
    try {
      return await handler(payload, {
        from: { id: this.id, name: this.name },
        topic,
        kind,
        signal: this.#lifetime.signal,
      })
    } finally {
      this.#running--
      // start what waited, in arrival order (a synchronous handler frees its slot at once)
      while (
        this.#running < this.#host.maxConcurrentHandlers &&
        this.#backlog.length > 0 &&
        this.#closedError === undefined
      ) {
        this.#work(this.#backlog.shift()!)
      }
      if (this.#backlog.length < this.#host.maxQueuedMessages) this.#slotWaiters.shift()?.()
      this.#checkIdle()
    }
  }

  #idle(): boolean {
    return this.#pending.size === 0 && this.#running === 0 && this.#backlog.length === 0 && this.#queued === 0
  }

  #checkIdle(): void {
    if (!this.#idle()) return
    for (const wake of [...this.#idleWaiters]) wake()
    this.#idleWaiters.clear()
  }
}

import {
  type AbortOptions,
  abortErrorFor,
  type Logger,
  raceSignal,
  shortId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { AsyncQueue } from './async-queue.js'
import { decodeCloseNotice, MAX_CLOSE_REASON_BYTES } from './close-notice.js'
import { ACCESS_DENIED, ENGINE_OBJECT, type EngineConnection, type EngineStream } from './engine.js'
import {
  type CloseInfo,
  ConnectionClosedError,
  HandshakeError,
  TransportLimitError,
  UntrustedPeerError,
} from './errors.js'
import { channelOptions, FramedMessageChannel } from './message-channel.js'
import type {
  ChannelOptions,
  Connection,
  ConnectionEvents,
  MessageChannel,
  Stream,
  TransportAddress,
} from './types.js'
import {
  CODE,
  closeCodeFor,
  KIND_CHANNEL,
  KIND_CLOSE,
  KIND_CONTROL,
  KIND_STREAM,
  PROTOCOL_VERSION,
  withPrefix,
} from './wire.js'

/** @internal Options a connection gets from its transport. */
export interface ConnectionContext {
  logger: Logger
  channel: Required<ChannelOptions>
  maxQueuedStreamOpens: number
  maxPendingStreams: number
  /** How long a peer may take to send a stream's first byte. */
  preambleTimeoutMs: number
  /** Protocol-error stream drops tolerated before the connection is closed. */
  maxProtocolErrors: number
  /** Incoming streams per second (burst: twice that). */
  maxStreamOpensPerSecond: number
}

interface PendingIncoming {
  stream: EngineStream
  reader: ReadableStreamDefaultReader<Uint8Array>
  leftover: Uint8Array | undefined
}

/** The `Stream` handed to users (it keeps a hidden link to the engine object, for tests). */
function userStream(stream: EngineStream, readable: ReadableStream<Uint8Array>): Stream {
  const out: Stream = {
    id: stream.id,
    readable,
    writable: stream.writable,
    reset: (c = CODE.CANCELLED) => stream.reset(c),
  }
  Object.defineProperty(out, ENGINE_OBJECT, {
    value: (stream as unknown as Record<symbol, unknown>)[ENGINE_OBJECT],
  })
  return out
}

const CONTROL_HELLO = Uint8Array.of(KIND_CONTROL, PROTOCOL_VERSION)
const CONTROL_ACK = 0x01

/**
 * A pinned QUIC connection (see {@link Connection}).
 * @internal Created by the transport's `dial` and by listeners.
 */
export class QuicConnection extends TypedEventTarget<ConnectionEvents> implements Connection {
  readonly remoteId: string
  readonly localAddress: TransportAddress
  readonly direction: 'inbound' | 'outbound'
  readonly closed: Promise<CloseInfo>
  /** Streams dropped because their preamble was bad or late, or the accept queue was full. */
  droppedStreams = 0

  readonly #engine: EngineConnection
  readonly #ctx: ConnectionContext
  readonly #streams: AsyncQueue<PendingIncoming>
  readonly #channels: AsyncQueue<PendingIncoming>
  readonly #openWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  #openPoll: NodeJS.Timeout | undefined
  #closeInfo: CloseInfo | undefined
  /** Set as soon as we start closing, so streams failing meanwhile report the close. */
  #closingInfo: CloseInfo | undefined
  #helloResolve: (() => void) | undefined
  readonly #hello: Promise<void>
  #pendingPreambles = 0
  #protocolErrors = 0
  #openTokens: number
  #openTokensAt = performance.now()

  constructor(engine: EngineConnection, direction: 'inbound' | 'outbound', ctx: ConnectionContext) {
    super()
    this.#engine = engine
    this.#ctx = ctx
    this.direction = direction
    this.remoteId = engine.remoteId
    this.localAddress = engine.localAddress
    this.#openTokens = ctx.maxStreamOpensPerSecond * 2
    this.#streams = new AsyncQueue(ctx.maxPendingStreams)
    this.#channels = new AsyncQueue(ctx.maxPendingStreams)
    this.#hello = new Promise((resolve) => {
      this.#helloResolve = resolve
    })
    engine.onStream = (stream) => this.#onIncoming(stream)
    this.closed = engine.closed.then((info) => {
      this.#closeInfo = info
      const error = new ConnectionClosedError('connection closed', info)
      this.#streams.end(error)
      this.#channels.end(error)
      for (const w of this.#openWaiters.splice(0)) w.reject(error)
      this.#stopPolling()
      for (const p of [...this.#streams.drain(), ...this.#channels.drain()]) p.stream.reset(CODE.CANCELLED)
      ctx.logger.debug('connection closed', { peer: shortId(this.remoteId), ...info, error: undefined })
      this.emit('close', info)
      return info
    })
  }

  /** The peer's current address (it follows the peer when it migrates). */
  get remoteAddress(): TransportAddress {
    return this.#engine.remoteAddress
  }

  get rtt(): number | undefined {
    return this.#engine.rtt()
  }

  get isClosed(): boolean {
    return this.#closeInfo !== undefined
  }

  #closedError(): ConnectionClosedError | undefined {
    const info = this.#closeInfo ?? this.#closingInfo
    return info === undefined ? undefined : new ConnectionClosedError('connection closed', info)
  }

  #assertOpen(): void {
    const error = this.#closedError()
    if (error !== undefined) throw error
  }

  // ---------------------------------------------------------------- control stream (handshake confirmation)

  /**
   * @internal Listener side: tells the client it passed our trust check, then waits for the
   * client's acknowledgement (proof that the client's pinning accepted us). Resolves false when
   * the connection closes or times out first.
   */
  async sendHello(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    try {
      const stream = await this.#openRaw(undefined)
      const writer = stream.writable.getWriter()
      writer.closed.catch(() => {})
      const reader = stream.readable.getReader()
      reader.closed.catch(() => {})
      await writer.write(CONTROL_HELLO)
      void writer.close().catch(() => {})
      const ack = await Promise.race([
        reader.read(),
        this.closed.then(() => undefined),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs)
        }),
      ])
      void reader.cancel().catch(() => {})
      if (ack === undefined || ack.done || ack.value[0] !== CONTROL_ACK) {
        void this.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
        return false
      }
      return true
    } catch (error) {
      this.#ctx.logger.debug('control stream failed', { error: errorMessage(error) })
      void this.close('handshake not confirmed', CODE.PROTOCOL_ERROR)
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * @internal Dialer side: waits for the listener's control stream. Its arrival proves the
   * listener accepted our certificate; a close before it becomes the dial's error.
   */
  async waitHello(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    try {
      const outcome = await raceSignal(
        Promise.race([
          this.#hello.then(() => undefined),
          this.closed.then((info) => info),
          new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), timeoutMs)
          }),
        ]),
        signal,
      )
      if (outcome === undefined) return
      if (outcome === 'timeout') {
        throw new HandshakeError(`the server did not confirm the connection within ${timeoutMs} ms`)
      }
      const code = outcome.code
      if (code === ACCESS_DENIED) {
        throw new UntrustedPeerError(`server ${this.remoteId} does not trust this node`, undefined, {
          cause: outcome.error,
        })
      }
      throw new HandshakeError(
        `the server closed the connection during the handshake: ${outcome.reason}`,
        code,
        {
          cause: outcome.error,
        },
      )
    } catch (error) {
      void this.close('handshake failed')
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  // ---------------------------------------------------------------- incoming streams

  #onIncoming(stream: EngineStream): void {
    if (!this.#takeOpenToken()) {
      this.#drop(stream, 'stream opens over the rate limit', CODE.LIMIT_EXCEEDED)
      this.#protocolError(`more than ${this.#ctx.maxStreamOpensPerSecond} stream opens per second`)
      return
    }
    if (this.#pendingPreambles >= this.#ctx.maxPendingStreams) {
      this.droppedStreams++
      stream.reset(CODE.LIMIT_EXCEEDED)
      return
    }
    this.#pendingPreambles++
    void this.#readPreamble(stream).finally(() => {
      this.#pendingPreambles--
    })
  }

  async #readPreamble(stream: EngineStream): Promise<void> {
    const reader = stream.readable.getReader()
    reader.closed.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    try {
      const first = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), this.#ctx.preambleTimeoutMs)
        }),
      ])
      if (first === 'timeout' || first.done || first.value.byteLength === 0) {
        this.#drop(
          stream,
          first === 'timeout' ? 'no stream preamble in time' : 'stream ended before its preamble',
        )
        return
      }
      const bytes = first.value
      const kind = bytes[0]
      const leftover = bytes.byteLength > 1 ? bytes.subarray(1) : undefined
      if (kind === KIND_CONTROL) {
        const version = leftover?.[0] ?? (await this.#readByte(reader))
        if (this.direction !== 'outbound') {
          this.#drop(stream, 'control stream from a client')
          return
        }
        if (version !== PROTOCOL_VERSION) {
          this.#drop(stream, `bad control stream (version ${version})`)
          void this.close(`unsupported peer protocol version ${version}`, CODE.PROTOCOL_ERROR)
          return
        }
        this.#helloResolve?.()
        void reader.cancel().catch(() => {})
        const writer = stream.writable.getWriter()
        writer.closed.catch(() => {})
        void writer
          .write(Uint8Array.of(CONTROL_ACK))
          .then(() => writer.close())
          .catch(() => {})
        return
      }
      if (kind === KIND_CLOSE) {
        void this.#readCloseNotice(stream, reader, leftover)
        return
      }
      const queue = kind === KIND_STREAM ? this.#streams : kind === KIND_CHANNEL ? this.#channels : undefined
      if (queue === undefined) {
        this.#drop(stream, `unknown stream kind ${kind}`)
        return
      }
      if (!queue.push({ stream, reader, leftover })) {
        this.#drop(stream, 'too many streams waiting to be accepted', CODE.LIMIT_EXCEEDED)
      }
    } catch (error) {
      this.#drop(stream, `stream failed before its preamble: ${errorMessage(error)}`)
    } finally {
      clearTimeout(timer)
    }
  }

  /** The peer is closing: its notice says why (read to the end, bounded in size and time). */
  async #readCloseNotice(
    stream: EngineStream,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    leftover: Uint8Array | undefined,
  ): Promise<void> {
    const parts: Uint8Array[] = leftover === undefined ? [] : [leftover]
    let size = leftover?.byteLength ?? 0
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#ctx.preambleTimeoutMs)
    })
    try {
      while (size <= 4 + MAX_CLOSE_REASON_BYTES) {
        const r = await Promise.race([reader.read(), late])
        if (r === 'timeout' || r.done) break
        parts.push(r.value)
        size += r.value.byteLength
      }
    } catch {
      // a reset notice still closes with what arrived
    } finally {
      clearTimeout(timer)
    }
    const notice = decodeCloseNotice(Buffer.concat(parts))
    if (notice === undefined) {
      this.#drop(stream, 'malformed close notice')
      return
    }
    void reader.cancel().catch(() => {})
    this.#engine.closedByPeer(notice.code, notice.reason)
  }

  async #readByte(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number | undefined> {
    const r = await reader.read()
    return r.done ? undefined : r.value[0]
  }

  #drop(stream: EngineStream, reason: string, code: number = CODE.PROTOCOL_ERROR): void {
    this.droppedStreams++
    this.#ctx.logger.debug('incoming stream dropped', {
      peer: shortId(this.remoteId),
      stream: stream.id,
      reason,
    })
    stream.reset(code)
    if (code === CODE.PROTOCOL_ERROR) this.#protocolError(reason)
  }

  /** Token bucket of incoming stream opens. */
  #takeOpenToken(): boolean {
    const now = performance.now()
    const rate = this.#ctx.maxStreamOpensPerSecond
    this.#openTokens = Math.min(rate * 2, this.#openTokens + ((now - this.#openTokensAt) / 1000) * rate)
    this.#openTokensAt = now
    if (this.#openTokens < 1) return false
    this.#openTokens--
    return true
  }

  /** Past `maxProtocolErrors`, the peer is disconnected with `PROTOCOL_ERROR` and the last reason. */
  #protocolError(reason: string): void {
    if (++this.#protocolErrors <= this.#ctx.maxProtocolErrors || this.isClosed) return
    const text = `protocol error: more than ${this.#ctx.maxProtocolErrors} bad streams, the last: ${reason}`
    void this.close(text.slice(0, 200), CODE.PROTOCOL_ERROR)
  }

  // ---------------------------------------------------------------- opening streams

  /** Opens an engine stream, waiting while the peer's stream limit is reached. */
  async #openRaw(signal: AbortSignal | undefined): Promise<EngineStream> {
    this.#assertOpen()
    throwIfAborted(signal)
    if (this.#openWaiters.length > 0 || this.#engine.streamsLeft() <= 0) {
      if (this.#openWaiters.length >= this.#ctx.maxQueuedStreamOpens) {
        throw new TransportLimitError(
          `${this.#openWaiters.length} stream opens already wait for the peer's stream limit`,
        )
      }
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          resolve: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
          reject: (e: unknown) => {
            signal?.removeEventListener('abort', onAbort)
            reject(e)
          },
        }
        const onAbort = () => {
          const i = this.#openWaiters.indexOf(waiter)
          if (i >= 0) this.#openWaiters.splice(i, 1)
          waiter.reject(abortErrorFor(signal as AbortSignal))
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        this.#openWaiters.push(waiter)
        this.#startPolling()
      })
      this.#assertOpen()
    }
    return this.#engine.openStream(signal)
  }

  // The engine has no "stream credit" event: poll while someone waits (only then).
  #startPolling(): void {
    if (this.#openPoll !== undefined) return
    this.#openPoll = setInterval(() => this.#grant(), 2)
    this.#openPoll.unref()
  }

  #stopPolling(): void {
    if (this.#openPoll !== undefined) clearInterval(this.#openPoll)
    this.#openPoll = undefined
  }

  #grant(): void {
    let left = this.#engine.streamsLeft()
    while (left > 0 && this.#openWaiters.length > 0) {
      this.#openWaiters.shift()?.resolve()
      left--
    }
    if (this.#openWaiters.length === 0) this.#stopPolling()
  }

  async #openKind(kind: number, signal: AbortSignal | undefined): Promise<EngineStream> {
    const stream = await this.#openRaw(signal)
    // the preamble makes the stream visible to the peer at once, before any user data
    const writer = stream.writable.getWriter()
    writer.write(Uint8Array.of(kind)).catch(() => {})
    writer.releaseLock()
    return stream
  }

  /** @internal For protocol tests: opens a stream whose preamble is `kind` (any byte). */
  async openStreamWithKind(kind: number): Promise<Stream> {
    const stream = await this.#openKind(kind, undefined)
    return userStream(stream, stream.readable)
  }

  async openStream(options: AbortOptions = {}): Promise<Stream> {
    const stream = await this.#openKind(KIND_STREAM, options.signal)
    return userStream(stream, stream.readable)
  }

  async acceptStream(options: AbortOptions = {}): Promise<Stream> {
    const pending = await this.#streams.shift(options)
    if (pending === undefined) throw this.#closedError() ?? new ConnectionClosedError('connection closed')
    const { stream, reader, leftover } = pending
    return userStream(stream, withPrefix(leftover, reader))
  }

  async *streams(): AsyncIterable<Stream> {
    for (;;) {
      try {
        yield await this.acceptStream()
      } catch (error) {
        if (error instanceof ConnectionClosedError) return
        throw error
      }
    }
  }

  async openChannel(options: ChannelOptions & AbortOptions = {}): Promise<MessageChannel> {
    const opts = channelOptions(this.#ctx.channel, options)
    const stream = await this.#openKind(KIND_CHANNEL, options.signal)
    return new FramedMessageChannel(
      stream,
      undefined,
      opts,
      () => this.#closedError(),
      undefined,
      this.closed,
      true,
    )
  }

  async acceptChannel(options: ChannelOptions & AbortOptions = {}): Promise<MessageChannel> {
    const opts = channelOptions(this.#ctx.channel, options)
    const pending = await this.#channels.shift(options)
    if (pending === undefined) throw this.#closedError() ?? new ConnectionClosedError('connection closed')
    return new FramedMessageChannel(
      pending.stream,
      pending.leftover,
      opts,
      () => this.#closedError(),
      pending.reader,
      this.closed,
      true,
    )
  }

  async *channels(options: ChannelOptions = {}): AsyncIterable<MessageChannel> {
    for (;;) {
      try {
        yield await this.acceptChannel(options)
      } catch (error) {
        if (error instanceof ConnectionClosedError) return
        throw error
      }
    }
  }

  // ---------------------------------------------------------------- closing

  async close(reason = 'closed', code: number = closeCodeFor(reason)): Promise<CloseInfo> {
    if (this.#closeInfo === undefined) {
      this.#closingInfo ??= { by: 'local', reason, code, application: true }
      try {
        await this.#engine.close(code, reason)
      } catch (error) {
        this.#ctx.logger.debug('close failed', { error: errorMessage(error) })
      }
    }
    return this.closed
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close('disposed')
  }
}

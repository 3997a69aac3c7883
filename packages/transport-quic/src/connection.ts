import {
  type AbortOptions,
  type Logger,
  shortId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import { AsyncQueue } from './async-queue.js'
import { channelOptionsOver } from './channel-options.js'
import { decodeCloseNotice, MAX_CLOSE_REASON_BYTES } from './close-notice.js'
import { type ControlHost, localHello, receiveHello, sendHello, waitHello } from './control-stream.js'
import { ENGINE_OBJECT, type EngineConnection, type EngineStream } from './engine.js'
import { type CloseInfo, ConnectionClosedError } from './errors.js'
import { FramedMessageChannel } from './message-channel.js'
import { StreamOpenQueue } from './open-queue.js'
import { type ChunkReads, chunkReads } from './stream-io.js'
import type {
  ChannelOptions,
  Connection,
  ConnectionEvents,
  ConnectionStats,
  HelloSource,
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
  /** Our hello bytes for the control stream, or their source (`TransportOptions.hello`). */
  hello?: Uint8Array | HelloSource | undefined
}

interface PendingIncoming {
  stream: EngineStream
  /** Undefined for a channel on an engine stream with its own reads (`direct`). */
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined
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

/**
 * A pinned QUIC connection (see {@link Connection}).
 * @internal Created by the transport's `dial` and by listeners.
 */
export class QuicConnection extends TypedEventTarget<ConnectionEvents> implements Connection {
  readonly remoteId: string
  readonly localAddress: TransportAddress
  readonly direction: 'inbound' | 'outbound'
  readonly closed: Promise<CloseInfo>
  /**
   * Streams dropped: a bad or late preamble, over the open rate, or no room to wait for their
   * preamble or to be accepted.
   */
  droppedStreams = 0

  readonly #engine: EngineConnection
  readonly #ctx: ConnectionContext
  readonly #streams: AsyncQueue<PendingIncoming>
  readonly #channels: AsyncQueue<PendingIncoming>
  readonly #opens: StreamOpenQueue
  readonly #control: ControlHost
  #closeInfo: CloseInfo | undefined
  /** Set as soon as we start closing, so streams failing meanwhile report the close. */
  #closingInfo: CloseInfo | undefined
  #helloResolve: (() => void) | undefined
  readonly #hello: Promise<void>
  #helloDone = false
  #remoteHello: Uint8Array | undefined
  #confirm: ((ok: boolean) => void) | undefined
  readonly #confirmed: Promise<boolean>
  #commitSignal: AbortSignal | undefined
  #onCommit: (() => void) | undefined
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
    this.#opens = new StreamOpenQueue(() => engine.streamsLeft(), ctx.maxQueuedStreamOpens)
    this.#channels = new AsyncQueue(ctx.maxPendingStreams)
    this.#hello = new Promise((resolve) => {
      this.#helloResolve = resolve
    })
    this.#confirmed = new Promise((resolve) => {
      this.#confirm = resolve
    })
    engine.onStream = (stream) => this.#onIncoming(stream)
    this.closed = engine.closed.then((info) => {
      this.confirm(false)
      this.#closeInfo = info
      const error = new ConnectionClosedError('connection closed', info)
      this.#streams.end(error)
      this.#channels.end(error)
      this.#opens.failAll(error)
      for (const p of [...this.#streams.drain(), ...this.#channels.drain()]) p.stream.reset(CODE.CANCELLED)
      ctx.logger.debug('connection closed', { peer: shortId(this.remoteId), ...info, error: undefined })
      this.emit('close', info)
      return info
    })
    const closed = this.closed
    this.#control = {
      remoteId: this.remoteId,
      closed,
      logger: ctx.logger,
      localHello: () =>
        localHello(ctx.hello, { id: this.remoteId, direction, confirmed: this.#confirmed }, ctx.logger),
      setRemoteHello: (bytes) => {
        this.#remoteHello = bytes
      },
      openRaw: () => this.#openRaw(undefined),
      close: (reason, code) => this.close(reason, code),
      commit: () => {
        if (this.#commitSignal?.aborted === true) return false
        const onCommit = this.#onCommit
        this.#onCommit = undefined
        this.#commitSignal = undefined
        try {
          onCommit?.()
        } catch (error) {
          ctx.logger.warn('the onCommit callback of a dial threw', { error: errorMessage(error) })
        }
        return true
      },
    }
  }

  /** The peer's current address (it follows the peer when it migrates). */
  get remoteAddress(): TransportAddress {
    return this.#engine.remoteAddress
  }

  get remoteHello(): Uint8Array | undefined {
    return this.#remoteHello
  }

  get rtt(): number | undefined {
    return this.#engine.rtt()
  }

  get stats(): ConnectionStats | undefined {
    return this.#engine.stats?.()
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
   * @internal The confirmation exchange ended: handed out (`true`) or failed (`false`); settles
   * `HelloPeer.confirmed` (the first call counts).
   */
  confirm(ok: boolean): void {
    this.#confirm?.(ok)
    this.#confirm = undefined
  }

  /** @internal Listener side: see `sendHello` in control-stream.ts. */
  sendHello(timeoutMs: number): Promise<boolean> {
    return sendHello(this.#control, timeoutMs)
  }

  /**
   * @internal Dialer side, set right after the engine connected: no acknowledgement once `signal`
   * aborted; `onCommit` runs when it is sent (`DialOptions.onCommit`).
   */
  setCommit(signal: AbortSignal, onCommit: (() => void) | undefined): void {
    this.#commitSignal = signal
    this.#onCommit = onCommit
  }

  /** @internal Dialer side: see `waitHello` in control-stream.ts. */
  waitHello(timeoutMs: number, signal: AbortSignal | undefined, limitMs?: number): Promise<void> {
    return waitHello(this.#control, this.#hello, timeoutMs, signal, limitMs)
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
    // the engine's own read when it has one: a channel then never builds the stream's web streams
    const direct = stream.direct
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    const readerOf = (): ReadableStreamDefaultReader<Uint8Array> => {
      if (reader === undefined) {
        reader = stream.readable.getReader()
        reader.closed.catch(() => {})
      }
      return reader
    }
    try {
      // (no extra turn on the reader's path: the matrixai engine's lent reads start with the
      // channel, and a turn more let its stream start a copying read first on Node 24)
      let bytes: Uint8Array | null | undefined
      if (direct !== undefined) bytes = await settleWithin(direct.read(), this.#ctx.preambleTimeoutMs)
      else {
        const first = await settleWithin(readerOf().read(), this.#ctx.preambleTimeoutMs)
        bytes = first === undefined ? undefined : first.done ? null : first.value
      }
      if (bytes === undefined || bytes === null || bytes.byteLength === 0) {
        this.#drop(
          stream,
          bytes === undefined ? 'no stream preamble in time' : 'stream ended before its preamble',
        )
        return
      }
      const kind = bytes[0]
      const leftover = bytes.byteLength > 1 ? bytes.subarray(1) : undefined
      if (kind === KIND_CONTROL) {
        if (this.direction !== 'outbound' || this.#helloDone) {
          this.#drop(stream, this.#helloDone ? 'a second control stream' : 'control stream from a client')
          return
        }
        this.#helloDone = true
        if (
          await receiveHello(this.#control, stream, chunkReads(stream, reader), leftover, (why) =>
            this.#drop(stream, why),
          )
        ) {
          this.#helloResolve?.()
        }
        return
      }
      if (kind === KIND_CLOSE) {
        void this.#readCloseNotice(stream, chunkReads(stream, reader), leftover)
        return
      }
      const queue = kind === KIND_STREAM ? this.#streams : kind === KIND_CHANNEL ? this.#channels : undefined
      if (queue === undefined) {
        this.#drop(stream, `unknown stream kind ${kind}`)
        return
      }
      const channelReads = kind === KIND_CHANNEL && direct !== undefined
      if (!queue.push({ stream, reader: channelReads ? undefined : readerOf(), leftover })) {
        this.#drop(stream, 'too many streams waiting to be accepted', CODE.LIMIT_EXCEEDED)
      }
    } catch (error) {
      this.#drop(stream, `stream failed before its preamble: ${errorMessage(error)}`)
    }
  }

  /** The peer is closing: its notice says why (read to the end, bounded in size and time). */
  async #readCloseNotice(
    stream: EngineStream,
    reads: ChunkReads,
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
        const chunk = await Promise.race([reads.next(), late])
        if (chunk === 'timeout' || chunk === null) break
        parts.push(chunk)
        size += chunk.byteLength
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
    reads.cancel()
    this.#engine.closedByPeer(notice.code, notice.reason)
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
    const waiting = this.#opens.wait(signal)
    if (waiting !== undefined) {
      await waiting
      this.#assertOpen()
    }
    return this.#engine.openStream(signal)
  }

  async #openKind(kind: number, signal: AbortSignal | undefined): Promise<EngineStream> {
    const stream = await this.#openRaw(signal)
    // the preamble makes the stream visible to the peer at once, before any user data (through
    // the engine's own writes when it has them, which the channel's writes then follow)
    if (stream.direct !== undefined) {
      stream.direct.write(Uint8Array.of(kind)).catch(() => {})
      return stream
    }
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
    return userStream(stream, withPrefix(leftover, reader ?? stream.readable.getReader()))
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
    const opts = channelOptionsOver(this.#ctx.channel, options)
    const stream = await this.#openRaw(options.signal)
    const channel = new FramedMessageChannel(
      stream,
      undefined,
      opts,
      () => this.#closedError(),
      undefined,
      this.closed,
      true,
    )
    channel.preamble(KIND_CHANNEL)
    return channel
  }

  async acceptChannel(options: ChannelOptions & AbortOptions = {}): Promise<MessageChannel> {
    const opts = channelOptionsOver(this.#ctx.channel, options)
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

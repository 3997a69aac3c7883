import { type AbortOptions, abortErrorFor } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import { AsyncQueue } from './async-queue.js'
import { channelOptions } from './channel-options.js'
import { type ChunkPool, chunkPool } from './chunk-pool.js'
import type { DirectIo, EngineStream } from './engine.js'
import {
  ConnectionClosedError,
  FrameTooLargeError,
  StreamResetError,
  TransportConfigError,
  TransportError,
  TransportLimitError,
} from './errors.js'
import { FrameDecoder } from './frame-decoder.js'
import { PartialFrameTimer } from './partial-frame-timer.js'
import type { ChannelOptions, MessageChannel, ReceiveBatchOptions, Stream } from './types.js'
import { type Waiter, waitIn } from './waiters.js'
import { CODE } from './wire.js'

const RESOLVED = Promise.resolve()
/**
 * What `send` returns when the message is buffered and nothing needs to wait: callers in sibling
 * packages compare against it (`@peer/transport-quic/internal`) to skip a promise per message.
 */
export const SENT: Promise<void> = Promise.resolve()
/** Most `send` calls that may wait for buffer space at once (callers that ignore backpressure). */
const MAX_SEND_WAITERS = 1024

/**
 * A message channel on one stream: each message is a u32 big-endian length followed by that many
 * bytes. Small messages are copied into shared chunks of `coalesceBytes` and written together;
 * `send` waits once `maxBufferedBytes` are buffered; the reader stops reading from the peer (so
 * QUIC flow control pushes back) once `maxQueuedMessages` are waiting.
 * @internal Created by `Connection.openChannel` / `acceptChannel`.
 */
export class FramedMessageChannel implements MessageChannel {
  readonly id: number
  readonly closed: Promise<void>
  readonly #stream: EngineStream
  readonly #options: Required<ChannelOptions>
  /** The stream's writer, for a stream without the engine's own reads and writes (`#direct`). */
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined
  /** The engine's own reads and writes, when it has them (its web streams are then never built). */
  readonly #direct: DirectIo | undefined
  readonly #closedInfo: () => ConnectionClosedError | undefined
  readonly #connectionClosed: Promise<unknown> | undefined

  // send side
  #cur: Buffer | undefined
  /** The whole buffer `#cur` is cut from. */
  #curBase: Buffer | undefined
  #curUsed = 0
  readonly #chunks: Buffer[] = []
  /** Per chunk: its whole buffer when it is the last piece of it (free once written), else undefined. */
  readonly #chunkBases: Array<Buffer | undefined> = []
  readonly #pool: ChunkPool | undefined
  readonly #onEngineStream: boolean
  #buffered = 0
  #flushing = false
  #sendError: Error | undefined
  #writeDone = false
  #closing: Promise<void> | undefined
  readonly #spaceWaiters: Waiter[] = []
  readonly #drainWaiters: Waiter[] = []

  // receive side
  readonly #incoming: AsyncQueue<Uint8Array>
  #readDone = false
  #resumeRead: (() => void) | undefined
  #error: Error | undefined
  #resolveClosed!: () => void

  constructor(
    stream: EngineStream,
    leftover: Uint8Array | undefined,
    options: Required<ChannelOptions>,
    closedInfo: () => ConnectionClosedError | undefined,
    reader?: ReadableStreamDefaultReader<Uint8Array>,
    connectionClosed?: Promise<unknown>,
    /**
     * A QUIC engine stream: its writes copy the chunk before resolving (so chunks are recycled) and
     * it can lend its read buffer (so each received byte is copied once). Not for other streams.
     */
    onEngineStream = false,
  ) {
    this.#connectionClosed = connectionClosed
    this.#onEngineStream = onEngineStream
    this.#pool = onEngineStream ? chunkPool : undefined
    this.id = stream.id
    this.#stream = stream
    this.#options = options
    this.#closedInfo = closedInfo
    this.#incoming = new AsyncQueue(Number.MAX_SAFE_INTEGER)
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    this.#direct = onEngineStream ? stream.direct : undefined
    if (this.#direct === undefined) {
      this.#writer = stream.writable.getWriter()
      this.#writer.closed.catch(() => {})
    }
    // the connection is closing: what we buffered goes out, then our side ends
    stream.onClosing = () => this.close()
    void this.#readLoop(
      reader ?? (this.#direct === undefined ? stream.readable.getReader() : undefined),
      leftover,
    )
  }

  get error(): Error | undefined {
    return this.#error
  }

  // ------------------------------------------------------------------ send

  // `options?` rather than `options = {}`: no object per call on the hot path
  send(message: Uint8Array, options?: AbortOptions): Promise<void> {
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(abortErrorFor(signal))
    if (this.#sendError !== undefined) return Promise.reject(this.#sendError)
    if (this.#closing !== undefined) {
      return Promise.reject(new ConnectionClosedError('message channel is closed for sending'))
    }
    const n = message.byteLength
    if (n > this.#options.maxFrameSize) {
      return Promise.reject(new FrameTooLargeError(n, this.#options.maxFrameSize, 'send'))
    }
    if (this.#buffered > this.#options.maxBufferedBytes && this.#spaceWaiters.length >= MAX_SEND_WAITERS) {
      return Promise.reject(
        new TransportLimitError(
          `send buffer full and ${MAX_SEND_WAITERS} sends already waiting: await send()`,
        ),
      )
    }
    let cur = this.#cur
    if (cur === undefined || this.#curUsed + n + 4 > cur.byteLength) {
      this.#seal()
      cur = this.#startChunk(Math.max(this.#options.coalesceBytes, n + 4))
    }
    const at = this.#curUsed
    cur[at] = n >>> 24
    cur[at + 1] = n >>> 16
    cur[at + 2] = n >>> 8
    cur[at + 3] = n
    cur.set(message, at + 4)
    this.#curUsed = at + 4 + n
    const idle = this.#buffered === 0
    this.#buffered += n + 4
    if (this.#curUsed + 4 >= cur.byteLength) this.#seal()
    this.#kick(idle)
    if (this.#buffered <= this.#options.maxBufferedBytes) return SENT
    return waitIn(this.#spaceWaiters, signal)
  }

  /**
   * @internal Starts the send side with the stream's preamble (its kind byte, see wire.ts), written
   * with what is sent in the same event-loop turn: the first messages of a new channel then reach
   * the peer in the packet and the read that show it the channel (a first request on a new lane
   * cost a write, a packet and a read of its own before). Nothing sent in that turn: the preamble
   * goes alone at its end, so the peer sees the channel at once all the same.
   */
  preamble(kind: number): void {
    this.#startChunk(this.#options.coalesceBytes)[0] = kind
    this.#curUsed = 1
    this.#buffered = 1
    this.#kick()
  }

  /** A fresh chunk of at least `size` bytes (from the pool on engine streams) as the one being filled. */
  #startChunk(size: number): Buffer {
    const cur = this.#pool === undefined ? Buffer.allocUnsafe(size) : this.#pool.take(size)
    this.#cur = cur
    this.#curBase = cur
    this.#curUsed = 0
    return cur
  }

  flush(options?: AbortOptions): Promise<void> {
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(abortErrorFor(signal))
    if (this.#sendError !== undefined) return Promise.reject(this.#sendError)
    if (this.#buffered === 0) return RESOLVED
    this.#kick()
    return waitIn(this.#drainWaiters, signal)
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.flush()
        await (this.#direct?.finish() ?? this.#writer?.close())
      } catch (error) {
        if (this.#sendError === undefined) this.#failSend(asError(error))
      } finally {
        this.#writeDone = true
        this.#maybeClosed()
      }
    })()
    return this.#closing
  }

  reset(code: number = CODE.CANCELLED): void {
    this.#stream.reset(code)
    this.#fail(new StreamResetError(`channel reset locally (code ${code})`, code))
  }

  #seal(): void {
    const cur = this.#cur
    if (cur !== undefined && this.#curUsed > 0) {
      const rest = this.#curUsed + 4 + 64 < cur.byteLength ? cur.subarray(this.#curUsed) : undefined
      this.#chunks.push(cur.subarray(0, this.#curUsed))
      // the last piece of its buffer: once it is written (in order, after the earlier pieces), the
      // whole buffer is free again
      this.#chunkBases.push(rest === undefined ? this.#curBase : undefined)
      this.#cur = rest
      if (rest === undefined) this.#curBase = undefined
      this.#curUsed = 0
    }
  }

  /**
   * Starts the flush loop. A message on an idle channel goes out at once, within `send` (latency:
   * a microtask's wait was 10 us on a request's path); otherwise the loop waits for the next
   * macrotask turn, so a busy sender fills whole chunks (throughput). What is sent while a write
   * is in flight joins the next chunk either way.
   */
  #kick(idle = false): void {
    if (this.#flushing) return
    this.#flushing = true
    if (idle) void this.#flushLoop()
    else setImmediate(() => void this.#flushLoop())
  }

  async #flushLoop(): Promise<void> {
    try {
      // a macrotask turn has passed since the kick: take the partial chunk too. Later partial
      // chunks wait for the next turn, so a sender in a tight loop fills them first.
      this.#seal()
      for (;;) {
        const chunk = this.#chunks.shift()
        if (chunk === undefined) break
        const base = this.#chunkBases.shift()
        await (this.#direct?.write(chunk) ?? this.#writer?.write(chunk))
        if (base !== undefined) this.#pool?.give(base)
        // the channel failed while this write was in flight (its read side broke): the failure
        // dropped what was queued and zeroed the count, so this chunk must not be counted off again
        if (this.#sendError !== undefined) return
        this.#buffered -= chunk.byteLength
        this.#releaseSpace()
      }
    } catch (error) {
      this.#failSend(await this.#mapError(error))
      return
    } finally {
      this.#flushing = false
    }
    // what was sent during the writes waits in the partial chunk: flush it on the next turn. Never
    // re-arm with nothing to write (a loop that would spin a core, every turn, forever)
    if (this.#curUsed > 0 || this.#chunks.length > 0) this.#kick()
    else this.#drained()
  }

  /** Nothing is left to write: the count is zero and every `flush` waiting is answered. */
  #drained(): void {
    this.#buffered = 0
    for (const w of this.#drainWaiters.splice(0)) w.resolve()
  }

  #releaseSpace(): void {
    while (this.#spaceWaiters.length > 0 && this.#buffered <= this.#options.maxBufferedBytes) {
      this.#spaceWaiters.shift()?.resolve()
    }
  }

  #failSend(error: Error): void {
    if (this.#sendError !== undefined) return
    this.#sendError = error
    this.#chunks.length = 0
    this.#chunkBases.length = 0
    this.#cur = undefined
    this.#curBase = undefined
    this.#buffered = 0
    for (const w of this.#spaceWaiters.splice(0)) w.reject(error)
    for (const w of this.#drainWaiters.splice(0)) w.reject(error)
    this.#writeDone = true
    this.#maybeClosed()
  }

  // ------------------------------------------------------------------ receive

  receive(options?: AbortOptions): Promise<Uint8Array | undefined> {
    const p = this.#incoming.shift(options)
    this.#maybeResume()
    return p
  }

  receiveBatch(options?: ReceiveBatchOptions): Promise<Uint8Array[] | undefined> {
    const max = options?.max ?? Number.MAX_SAFE_INTEGER
    if (!Number.isInteger(max) || max < 1) {
      return Promise.reject(new TransportConfigError(`max must be an integer >= 1 (got ${String(max)})`))
    }
    const queued = this.#incoming.shiftMany(max)
    if (queued.length > 0) {
      this.#maybeResume()
      return Promise.resolve(queued)
    }
    return this.receive(options).then((first) => {
      if (first === undefined) return undefined
      // the read that delivered `first` queued the rest of its chunk behind it
      const batch = max > 1 ? this.#incoming.shiftMany(max - 1) : []
      batch.unshift(first)
      this.#maybeResume()
      return batch
    })
  }

  /** The reader paused at `maxQueuedMessages`: resume it once the queue is below again. */
  #maybeResume(): void {
    if (this.#resumeRead !== undefined && this.#incoming.size < this.#options.maxQueuedMessages) {
      const resume = this.#resumeRead
      this.#resumeRead = undefined
      resume()
    }
  }

  /**
   * A plain iterator rather than an async generator: a generator costs two more promises and a
   * resume per message, which showed in profiles of small-message streams. A message already
   * queued is handed out directly (one promise, no `then` hop); most are, since one read delivers
   * every message of a chunk.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined }
    let finished = false
    return {
      next: () => {
        if (finished) return Promise.resolve(done)
        const queued = this.#incoming.shiftNow()
        if (queued !== undefined) {
          this.#maybeResume()
          return Promise.resolve({ done: false, value: queued })
        }
        return this.receive().then(
          (value): IteratorResult<Uint8Array, undefined> => {
            if (value !== undefined) return { done: false, value }
            finished = true
            return done
          },
          (error: unknown) => {
            finished = true
            throw error
          },
        )
      },
      return: () => {
        finished = true
        return Promise.resolve(done)
      },
    }
  }

  async #readLoop(
    /** Undefined only with `#direct`. */
    reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
    leftover: Uint8Array | undefined,
  ): Promise<void> {
    reader?.closed.catch(() => {})
    const queue = this.#incoming
    const limit = this.#options.maxQueuedMessages
    // QUIC engine streams lend their read buffer instead of copying each read (see engine-patch)
    const release = this.#onEngineStream ? this.#stream.lendReads?.() : undefined
    const decoder = new FrameDecoder({
      maxFrameSize: this.#options.maxFrameSize,
      lent: release !== undefined,
    })
    const frameTimer = new PartialFrameTimer(this.#options.partialFrameTimeoutMs, () =>
      this.#stream.reset(CODE.PROTOCOL_ERROR),
    )
    const onFrame = (frame: Buffer) => {
      frameTimer.frameDone() // the next frame starts with all of its time
      queue.push(frame)
    }
    // the engine's own reads when it has them (the reader stays ours, unused): see `DirectIo`
    const direct = this.#direct
    const read =
      direct !== undefined
        ? () => direct.read()
        : async () => {
            const r = await reader!.read()
            return r.done ? null : r.value
          }
    try {
      let chunk: Uint8Array | null | undefined = leftover
      for (;;) {
        if (chunk === undefined) {
          chunk = decoder.atBoundary ? await read() : await frameTimer.read(read())
          if (chunk === null) break
        }
        try {
          decoder.push(chunk, onFrame)
        } catch (error) {
          if (error instanceof FrameTooLargeError) this.#stream.reset(CODE.FRAME_TOO_LARGE)
          throw error
        }
        chunk = undefined
        release?.() // every byte of the chunk was copied out: the engine may read into it again
        // the next read is asked at once, also when a consumer waited for these messages: it is in
        // flight while the consumer handles them and answers. Holding it back until the answer was
        // written (a turn of the event loop) made a @peer/node request on quinn about a fifth slower
        // (docs/benchmarks/libp2p.md, 2026-12-04)
        if (queue.size >= limit) {
          await new Promise<void>((resolve) => {
            this.#resumeRead = resolve
          })
        }
      }
      const truncated = decoder.endError()
      if (truncated !== undefined) {
        this.#stream.reset(CODE.PROTOCOL_ERROR)
        throw truncated
      }
      this.#readDone = true
      queue.end()
      this.#maybeClosed()
    } catch (error) {
      this.#fail(await this.#mapError(error))
    } finally {
      release?.()
    }
  }

  /** Engine errors carry little; a stream failing because its connection closes says so. */
  async #mapError(error: unknown): Promise<Error> {
    if (error instanceof TransportError && !(error instanceof StreamResetError)) return error
    if (this.#closedInfo() === undefined && this.#connectionClosed !== undefined) {
      await settleWithin(this.#connectionClosed, 1000)
    }
    const closed = this.#closedInfo()
    if (closed !== undefined) return closed
    if (error instanceof StreamResetError) return error
    const cause = (error as { cause?: unknown } | null)?.cause
    if (cause instanceof StreamResetError) return cause
    return new TransportError(`message channel failed: ${errorMessage(error)}`, { cause: error })
  }

  #fail(error: Error): void {
    if (this.#error === undefined) this.#error = error
    this.#failSend(error)
    this.#readDone = true
    // a graceful connection close (code 0, by either side) ends reading quietly, like a fin
    this.#incoming.end(isGracefulClose(error) ? undefined : error)
    this.#resumeRead?.()
    this.#resumeRead = undefined
    this.#maybeClosed()
  }

  #maybeClosed(): void {
    if (this.#readDone && this.#writeDone) this.#resolveClosed()
  }
}

function isGracefulClose(error: Error): boolean {
  return (
    error instanceof ConnectionClosedError &&
    error.info !== undefined &&
    (error.info.by === 'local' || error.info.by === 'remote') &&
    error.info.application === true &&
    error.info.code === 0
  )
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new TransportError(String(error))
}

/**
 * Wraps any {@link Stream} (e.g. one from `openStream`/`acceptStream`) in a message channel with
 * the same framing `openChannel` uses. The channel takes over the stream's reader and writer.
 */
export function createMessageChannel(stream: Stream, options: ChannelOptions = {}): MessageChannel {
  return new FramedMessageChannel(stream, undefined, channelOptions(options), () => undefined)
}

import { abortErrorFor, type Logger, shortId, throwIfAborted } from '@peer/discovery-core'
import { errorMessage, linkSignals, whenAborted } from '@peer/discovery-core/internal'
import { type Connection, type Stream, StreamResetError } from '@peer/transport-quic'
import { withPrefix } from '@peer/transport-quic/internal'
import { MAX_TOPIC_LENGTH } from './envelope.js'
import { TooManyRequestsError } from './errors.js'
import { type StreamRefusal, StreamRefusedError } from './stream-errors.js'

/** A duplex byte stream to a peer (web streams, with QUIC backpressure end to end). */
export interface PeerStream {
  /** The peer's node id. */
  readonly peer: string
  /** The topic the stream was opened on with `openStream`; it picks the accepting side's handler. */
  readonly topic: string
  /** Bytes from the peer; ends when the peer closes its writable. */
  readonly readable: ReadableStream<Uint8Array>
  /** Bytes to the peer; `write()` waits while the peer does not read (backpressure). */
  readonly writable: WritableStream<Uint8Array>
  /** Aborts both directions at once (the peer's reads and writes fail). */
  reset(): void
  /** Resolves when both directions are done (ended, closed, cancelled, reset or failed). */
  readonly closed: Promise<void>
}

/** What a stream handler learns about the stream. */
export interface StreamContext {
  /**
   * The peer that opened the stream: its node id, and the name it announced in its `hello`
   * (`undefined` when it sent none).
   */
  readonly from: { readonly id: string; readonly name: string | undefined }
  /** The topic the peer opened the stream on. */
  readonly topic: string
  /** Aborted when the connection ends or the node stops. */
  readonly signal: AbortSignal
}

/** Handles byte streams of one topic; a throw or rejection resets the stream. */
export type StreamHandler = (stream: PeerStream, context: StreamContext) => void | Promise<void>

const HEADER_VERSION = 1
/** A refusal the accepting side answers with (`reset` is none: the opener saw a reset instead). */
type AnsweredRefusal = Exclude<StreamRefusal, 'reset'>
/** The one-byte answer on the wire. */
const STATUS: Record<'ok' | AnsweredRefusal, number> = {
  ok: 0,
  'no-handler': 1,
  limit: 2,
  stopping: 3,
  protocol: 4,
}
const REFUSALS = new Map<number, StreamRefusal>(
  (Object.entries(STATUS) as Array<['ok' | StreamRefusal, number]>)
    .filter(([k]) => k !== 'ok')
    .map(([k, v]) => [v, k as StreamRefusal]),
)
/** Application error code of a stream reset by the node. */
const RESET_CODE = 1

/** What the registry needs from its link. @internal */
export interface StreamHost {
  readonly peer: string
  peerName(): string | undefined
  streamHandler(topic: string): StreamHandler | undefined
  stopping(): boolean
  readonly maxStreams: number
  /** How long the other side may take to send a header or status. */
  readonly headerTimeoutMs: number
  readonly log: Logger
  /** A peer's stream broke the protocol (counted towards closing the connection). */
  protocolError(detail: string): void
  /** A stream handler threw or rejected (the stream was reset). */
  handlerFailed(topic: string, error: unknown): void
  readonly signal: AbortSignal
}

/**
 * The byte streams of one peer link: opens them (header: version, topic; then waits for the
 * peer's one-byte status), accepts them (checks the bound and the handler, answers the status),
 * counts them against `maxStreams` (both directions) and resets every one when the link ends.
 * @internal
 */
export class StreamRegistry {
  readonly #host: StreamHost
  /** Open streams, each with what ends it (resets the stream and marks both directions done). */
  readonly #open = new Map<Stream, () => void>()

  constructor(host: StreamHost) {
    this.#host = host
  }

  get size(): number {
    return this.#open.size
  }

  /** Opens a byte stream on `connection` for `topic`; rejects with `StreamRefusedError` when refused. */
  async open(connection: Connection, topic: string, signal: AbortSignal | undefined): Promise<PeerStream> {
    throwIfAborted(signal)
    if (this.#open.size >= this.#host.maxStreams) {
      throw new TooManyRequestsError(this.#host.peer, 'byte streams', this.#host.maxStreams)
    }
    const opening = linkSignals([this.#host.signal, signal])
    let stream: Stream
    try {
      stream = await connection.openStream({ signal: opening.signal })
    } finally {
      opening.release()
    }
    this.#open.set(stream, () => stream.reset(RESET_CODE))
    const reader = stream.readable.getReader()
    reader.closed.catch(() => {})
    try {
      const writer = stream.writable.getWriter()
      const topicBytes = new TextEncoder().encode(topic)
      const header = new Uint8Array(3 + topicBytes.byteLength)
      header[0] = HEADER_VERSION
      new DataView(header.buffer).setUint16(1, topicBytes.byteLength)
      header.set(topicBytes, 3)
      writer.write(header).catch(() => {})
      writer.releaseLock()
      const answer = linkSignals([this.#host.signal, signal], this.#host.headerTimeoutMs)
      const got = await readExactly(reader, 1, answer.signal).finally(answer.release)
      if (got === undefined) throw new StreamRefusedError(this.#host.peer, topic, 'protocol')
      const status = got.bytes[0]!
      if (status !== STATUS.ok) {
        throw new StreamRefusedError(this.#host.peer, topic, REFUSALS.get(status) ?? 'protocol')
      }
      return this.#wrap(stream, reader, got.rest, topic)
    } catch (error) {
      this.#release(stream)
      stream.reset(RESET_CODE)
      if (signal?.aborted) throw abortErrorFor(signal)
      if (error instanceof StreamResetError) {
        throw new StreamRefusedError(this.#host.peer, topic, 'reset', { cause: error })
      }
      throw error
    }
  }

  /** Serves a stream the peer opened (never throws). */
  async accept(stream: Stream): Promise<void> {
    const reader = stream.readable.getReader()
    reader.closed.catch(() => {})
    const writer = stream.writable.getWriter()
    writer.closed.catch(() => {})
    const refuse = (reason: AnsweredRefusal) => {
      writer
        .write(Uint8Array.of(STATUS[reason]))
        .then(() => writer.close())
        .catch(() => {})
      void reader.cancel().catch(() => {})
    }
    let topic: string
    let rest: Uint8Array | undefined
    const header = linkSignals([this.#host.signal], this.#host.headerTimeoutMs)
    try {
      const signal = header.signal
      const head = await readExactly(reader, 3, signal)
      if (head === undefined || head.bytes[0] !== HEADER_VERSION) throw new Error('bad stream header')
      const length = new DataView(head.bytes.buffer, head.bytes.byteOffset).getUint16(1)
      if (length === 0 || length > MAX_TOPIC_LENGTH * 3) throw new Error(`bad topic length ${length}`)
      const body = await readExactly(reader, length, signal, head.rest)
      if (body === undefined) throw new Error('stream ended inside its header')
      topic = new TextDecoder('utf-8', { fatal: true }).decode(body.bytes)
      if (topic.length > MAX_TOPIC_LENGTH) throw new Error('topic too long')
      rest = body.rest
    } catch (error) {
      if (this.#host.signal.aborted) {
        stream.reset(RESET_CODE)
        return
      }
      this.#host.protocolError(`byte stream header: ${errorMessage(error)}`)
      refuse('protocol')
      return
    } finally {
      header.release()
    }
    const handler = this.#host.streamHandler(topic)
    if (this.#host.stopping()) return refuse('stopping')
    if (handler === undefined) return refuse('no-handler')
    if (this.#open.size >= this.#host.maxStreams) return refuse('limit')
    this.#open.set(stream, () => stream.reset(RESET_CODE))
    writer.write(Uint8Array.of(STATUS.ok)).catch(() => {})
    writer.releaseLock()
    const peerStream = this.#wrap(stream, reader, rest, topic)
    try {
      await handler(peerStream, {
        from: { id: this.#host.peer, name: this.#host.peerName() },
        topic,
        signal: this.#host.signal,
      })
      // the handler is done: finish our side if it did not (a locked writable is left alone)
      if (!peerStream.writable.locked) await peerStream.writable.close().catch(() => {})
    } catch (error) {
      this.#host.log.warn('stream handler threw: stream reset', {
        topic,
        peer: shortId(this.#host.peer),
        error: errorMessage(error),
      })
      peerStream.reset()
      this.#host.handlerFailed(topic, error)
    }
  }

  /** Resets every open stream (the link ended). */
  closeAll(): void {
    for (const [stream, end] of [...this.#open]) {
      this.#open.delete(stream)
      end()
    }
  }

  #release(stream: Stream): void {
    this.#open.delete(stream)
  }

  /** Wraps the transport stream so the registry sees both directions end (and frees the slot). */
  #wrap(
    stream: Stream,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    prefix: Uint8Array | undefined,
    topic: string,
  ): PeerStream {
    let readDone = false
    let writeDone = false
    let resolveClosed!: () => void
    const closed = new Promise<void>((resolve) => {
      resolveClosed = resolve
    })
    const check = () => {
      if (!readDone || !writeDone) return
      this.#release(stream)
      resolveClosed()
    }
    const endRead = () => {
      readDone = true
      check()
    }
    const endWrite = () => {
      writeDone = true
      check()
    }
    const readable = withPrefix(prefix, reader, endRead)
    const writer = stream.writable.getWriter()
    writer.closed.then(endWrite, endWrite)
    const writable = new WritableStream<Uint8Array>(
      {
        write: (chunk) => writer.write(chunk),
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      },
      { highWaterMark: 1 },
    )
    const reset = () => {
      stream.reset(RESET_CODE)
      endRead()
      endWrite()
    }
    if (this.#open.has(stream)) this.#open.set(stream, reset)
    return { peer: this.#host.peer, topic, readable, writable, closed, reset }
  }
}

/**
 * Reads exactly `n` bytes (after `carry`), or undefined when the stream ends first. `rest` is what
 * was read past them.
 */
async function readExactly(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  n: number,
  signal: AbortSignal,
  carry?: Uint8Array,
): Promise<{ bytes: Uint8Array; rest: Uint8Array | undefined } | undefined> {
  const parts: Uint8Array[] = carry === undefined || carry.byteLength === 0 ? [] : [carry]
  let have = parts.reduce((s, p) => s + p.byteLength, 0)
  let off: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'))
    if (signal.aborted) onAbort()
    else off = whenAborted(signal, onAbort)
  })
  aborted.catch(() => {})
  try {
    while (have < n) {
      const r = await Promise.race([reader.read(), aborted])
      if (r.done) return undefined
      parts.push(r.value)
      have += r.value.byteLength
    }
  } finally {
    off?.()
  }
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have)
  return { bytes: all.subarray(0, n), rest: have > n ? all.subarray(n) : undefined }
}

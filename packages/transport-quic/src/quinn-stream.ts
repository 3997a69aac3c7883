// The quinn binding's streams as engine streams (web streams over the binding's pull reads), and
// the set of a connection's live streams: the write sides a closing connection ends gracefully and
// the read sides a notified connection waits for.
import { errorMessage } from '@peer/discovery-core/internal'
import type { DirectIo, EngineStream } from './engine.js'
import { StreamResetError } from './errors.js'
import type { QuinnStream } from './quinn-binding.js'

const noop = () => {}

function settle(result: unknown): void {
  if (result instanceof Promise) result.catch(() => {})
}

// ---------------------------------------------------------------------------------------------
// streams

function streamError(error: unknown): Error {
  const message = errorMessage(error)
  const code = /error (\d+)/.exec(message)?.[1]
  if (/reset by peer/i.test(message)) {
    return new StreamResetError(`peer reset the stream (code ${code ?? 0})`, Number(code ?? 0), {
      cause: error,
    })
  }
  if (/stopped by peer|closed stream/i.test(message)) {
    return new StreamResetError(`peer stopped the stream (code ${code ?? 0})`, Number(code ?? 0), {
      cause: error,
    })
  }
  // "connection lost" and the like: the caller maps it to how the connection closed
  return error instanceof Error ? error : new Error(message)
}

/** The size asked of a stream's first read, and the least asked later (see `wrapStream`). */
const FIRST_READ = 16 * 1024

/**
 * A binding stream as an engine stream. The binding numbers streams by index; the QUIC stream id
 * is `4 * index + 1` for server-initiated bidirectional streams, `4 * index` for client ones.
 */
export function wrapStream(
  stream: QuinnStream,
  chunkSize: number,
  serverInitiated: boolean,
  streams?: StreamSet,
): EngineStream {
  return new QuinnEngineStream(stream, chunkSize, serverInitiated, streams)
}

/**
 * One class rather than a closure per operation: a node keeps a few streams per connection for
 * as long as the connection lives (its lanes), and the closures of the function this replaced
 * cost about 1.7 KiB of heap per stream, the class 150 bytes. It is its own {@link DirectIo}
 * (`direct === this`).
 */
class QuinnEngineStream implements EngineStream, DirectIo, StreamMember {
  readonly id: number
  readonly direct: DirectIo = this
  onClosing?: () => Promise<void> | void
  // the binding's stream holds its connection and with it the client endpoint's UDP socket, which
  // only a garbage collection frees: we let go of it once both sides ended or the connection
  // closed, so a stream the application still holds does not keep the socket
  #held: QuinnStream | undefined
  readonly #streams: StreamSet | undefined
  readonly #chunkSize: number
  #readDone = false
  #writeDone = false
  /** Sink writes in progress (the web stream hands over one at a time). */
  #writing = 0
  /** The connection is closing and nobody owns the writes: end our side once they stop. */
  #finishing = false
  // the size asked of each read adapts, between FIRST_READ and `chunkSize`: the binding allocates
  // (and zeroes) the whole size per read, and 256 KiB for a 70-byte answer cost about a sixth of a
  // request's CPU. A read that comes back full asks four times as much next time; one that comes
  // back under a quarter full, half as much.
  #readSize: number
  /** Settles once the last write given to `write` settled; undefined when none is left. */
  #lastWrite: Promise<unknown> | undefined
  // the web streams are built on first use only: a message channel uses `direct` alone, and the
  // two cost about 19 us and 5 KB of heap per stream (a node's lanes are channels)
  #readable: ReadableStream<Uint8Array> | undefined
  #writable: WritableStream<Uint8Array> | undefined

  constructor(
    stream: QuinnStream,
    chunkSize: number,
    serverInitiated: boolean,
    streams: StreamSet | undefined,
  ) {
    this.id = Number(stream.id()) * 4 + (serverInitiated ? 1 : 0)
    this.#held = stream
    this.#chunkSize = chunkSize
    this.#readSize = Math.min(FIRST_READ, chunkSize)
    this.#streams = streams
    streams?.add(this)
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let chunk: Uint8Array | null
          try {
            chunk = await this.read()
          } catch (error) {
            controller.error(error)
            return
          }
          if (chunk === null) controller.close()
          else controller.enqueue(chunk)
        },
        cancel: () => {
          this.#call((s) => s.stopRead())
          this.#readEnded()
        },
      },
      { highWaterMark: 0 },
    )
    return this.#readable
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.finish(),
      abort: () => {
        this.#call((s) => s.resetWrite())
        this.#writeEnded()
      },
    })
    return this.#writable
  }

  async read(): Promise<Uint8Array | null> {
    const s = this.#held
    try {
      if (s === undefined) throw new Error('connection lost')
      const asked = this.#readSize
      const chunk = await s.read(asked)
      if (chunk === null) {
        this.#readEnded()
        return null
      }
      const got = chunk.byteLength
      if (got >= asked) this.#readSize = Math.min(asked * 4, this.#chunkSize)
      else if (got < asked / 4) this.#readSize = Math.max(asked / 2, Math.min(FIRST_READ, this.#chunkSize))
      this.#streams?.touch()
      return chunk
    } catch (error) {
      this.#readEnded()
      throw streamError(error)
    }
  }

  write(chunk: Uint8Array): Promise<void> {
    // the binding runs each write as a task of its own: one starts only after the one before it
    // ended (as a web stream's sink is used), or the bytes could go out of order
    const last = this.#lastWrite
    const write = last === undefined ? this.#writeNow(chunk) : last.then(() => this.#writeNow(chunk))
    const settled = write.then(noop, noop)
    this.#lastWrite = settled
    void settled.then(() => {
      if (this.#lastWrite === settled) this.#lastWrite = undefined
    })
    return write
  }

  async finish(): Promise<void> {
    // after every write given before (a stream's preamble too)
    if (this.#lastWrite !== undefined) await this.#lastWrite
    this.#call((s) => s.finishWrite())
    this.#writeEnded()
  }

  reset(): void {
    // the binding resets with code 0 whatever we ask for (capability streamResetCodes: false)
    this.#call((s) => s.resetWrite())
    this.#call((s) => s.stopRead())
    this.#readEnded()
    this.#writeEnded()
  }

  /** {@link StreamMember}: the connection closed; let go of the binding's stream. */
  forget(): void {
    this.#held = undefined
    this.#streams?.ended(this)
  }

  /** {@link StreamMember}: our side is closing the connection; end the write side gracefully. */
  closing(): void {
    if (this.onClosing !== undefined) {
      try {
        settle(this.onClosing()) // a rejection is caught here, never unhandled
      } catch {
        // the owner's problem: the peer's wait for quiet bounds the close
      }
    } else {
      this.#finishing = true
      if (this.#writing === 0) this.#finishIfIdle()
    }
  }

  async #writeNow(chunk: Uint8Array): Promise<void> {
    const s = this.#held
    this.#writing++
    try {
      if (s === undefined || this.#writeDone) throw new Error('connection lost')
      await s.write(chunk)
    } catch (error) {
      throw streamError(error)
    } finally {
      if (--this.#writing === 0 && this.#finishing) this.#finishIfIdle()
    }
  }

  #call(fn: (s: QuinnStream) => unknown): void {
    const s = this.#held
    if (s === undefined) return
    try {
      settle(fn(s))
    } catch {
      // the stream is gone already
    }
  }

  #readEnded(): void {
    this.#readDone = true
    this.#streams?.delete(this)
    if (this.#writeDone) this.forget()
  }

  #writeEnded(): void {
    if (this.#writeDone) return
    this.#writeDone = true
    this.#streams?.wrote(this)
    if (this.#readDone) this.forget()
  }

  // Without an owner that buffers (see `EngineStream.onClosing`), finish the write side when it has
  // been idle for a turn: a web stream hands its next queued write to the sink in the same turn the
  // last one completes, so what the application wrote before the close still goes first. A side
  // that keeps writing is not finished (the peer's wait for quiet then bounds the close).
  #finishIfIdle(): void {
    setImmediate(() => {
      if (this.#writing > 0 || this.#writeDone) return
      this.#call((s) => s.finishWrite())
      this.#writeEnded()
    })
  }
}

/** What a connection's {@link StreamSet} needs of each stream. */
export interface StreamMember {
  /** The connection closed: let go of the binding's objects. */
  forget(): void
  /** Our side is closing the connection: end the write side once what was written is handed over. */
  closing(): void
}

/**
 * A connection's live streams: the read sides still open, so a notified connection can wait for
 * the peer's last bytes, and the write sides still open, so a closing one can end them first.
 */
export class StreamSet {
  readonly #open = new Set<StreamMember>()
  /** Every stream not yet fully ended: it holds the binding's objects (let go by `forgetAll`). */
  readonly #holders = new Set<StreamMember>()
  /** The streams whose write side is still open (ended gracefully by `finishWrites`). */
  readonly #writers = new Set<StreamMember>()
  #lastRead = 0
  #waiter: (() => void) | undefined
  /** The connection closed (`forgetAll`): a stream wrapped later lets go at once. */
  #forgotten = false
  add(member: StreamMember): void {
    // a stream that arrived as the connection closed (e.g. the peer's close notice, accepted
    // after `forgetAll`) must not keep the binding's objects either
    if (this.#forgotten) {
      member.forget()
      return
    }
    this.#open.add(member)
    this.#holders.add(member)
    this.#writers.add(member)
  }
  /** The write side of `member` ended. */
  wrote(member: StreamMember): void {
    this.#writers.delete(member)
  }
  /**
   * We are closing: every write side still open ends (a FIN) once what was written before is
   * handed over, so the peer's read sides end and it need not wait for quiet before it closes.
   */
  finishWrites(): void {
    for (const member of [...this.#writers]) member.closing()
  }
  /** The read side of `member` ended. */
  delete(member: StreamMember): void {
    if (this.#open.delete(member) && this.#open.size === 0) this.#waiter?.()
  }
  /** `member` ended both ways: it holds nothing any more. */
  ended(member: StreamMember): void {
    this.#holders.delete(member)
    this.#writers.delete(member)
  }
  /** The connection closed: every stream lets go of the binding's objects. */
  forgetAll(): void {
    this.#forgotten = true
    for (const member of [...this.#holders]) member.forget()
    this.#holders.clear()
    this.#writers.clear()
  }
  touch(): void {
    this.#lastRead = performance.now()
  }
  /**
   * Resolves once every read side ended, or nothing was read for `quietMs` (what was in flight
   * has arrived; long-lived streams the peer left open never end), or after `maxMs`.
   */
  drained(quietMs: number, maxMs: number): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve()
    const started = performance.now()
    return new Promise((resolve) => {
      const poll = setInterval(
        () => {
          const now = performance.now()
          if (now - Math.max(this.#lastRead, started) >= quietMs || now - started >= maxMs) done()
        },
        Math.max(10, quietMs / 2),
      )
      const done = () => {
        clearInterval(poll)
        this.#waiter = undefined
        resolve()
      }
      this.#waiter = done
    })
  }
}

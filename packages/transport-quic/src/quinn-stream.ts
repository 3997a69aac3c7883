// The quinn binding's streams as engine streams (web streams over the binding's pull reads), and
// the set of a connection's live streams: the write sides a closing connection ends gracefully and
// the read sides a notified connection waits for.
import { errorMessage } from '@peer/discovery-core/internal'
import type { EngineStream } from './engine.js'
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
  // the binding's stream holds its connection and with it the client endpoint's UDP socket, which
  // only a garbage collection frees: our wrapper lets go of it once both sides ended or the
  // connection closed, so a stream the application still holds does not keep the socket
  let held: QuinnStream | undefined = stream
  let readDone = false
  let writeDone = false
  /** Sink writes in progress (the web stream hands over one at a time). */
  let writing = 0
  /** The connection is closing and nobody owns the writes: end our side once they stop. */
  let finishing = false
  const token = {}
  const forget = () => {
    held = undefined
    streams?.ended(token)
  }
  const call = (fn: (s: QuinnStream) => unknown) => {
    const s = held
    if (s === undefined) return
    try {
      settle(fn(s))
    } catch {
      // the stream is gone already
    }
  }
  const readEnded = () => {
    readDone = true
    streams?.delete(token)
    if (writeDone) forget()
  }
  const writeEnded = () => {
    if (writeDone) return
    writeDone = true
    streams?.wrote(token)
    if (readDone) forget()
  }
  // Without an owner that buffers (see `EngineStream.onClosing`), finish the write side when it has
  // been idle for a turn: a web stream hands its next queued write to the sink in the same turn the
  // last one completes, so what the application wrote before the close still goes first. A side
  // that keeps writing is not finished (the peer's wait for quiet then bounds the close).
  const finishIfIdle = () => {
    setImmediate(() => {
      if (writing > 0 || writeDone) return
      call((s) => s.finishWrite())
      writeEnded()
    })
  }
  streams?.add(token, forget, () => {
    if (engineStream.onClosing !== undefined) {
      try {
        settle(engineStream.onClosing()) // a rejection is caught here, never unhandled
      } catch {
        // the owner's problem: the peer's wait for quiet bounds the close
      }
    } else {
      finishing = true
      if (writing === 0) finishIfIdle()
    }
  })
  // the size asked of each read adapts, between FIRST_READ and `chunkSize`: the binding allocates
  // (and zeroes) the whole size per read, and 256 KiB for a 70-byte answer cost about a sixth of a
  // request's CPU. A read that comes back full asks four times as much next time; one that comes
  // back under a quarter full, half as much.
  const leastRead = Math.min(FIRST_READ, chunkSize)
  let readSize = leastRead
  const direct = {
    async read(): Promise<Uint8Array | null> {
      const s = held
      try {
        if (s === undefined) throw new Error('connection lost')
        const asked = readSize
        const chunk = await s.read(asked)
        if (chunk === null) {
          readEnded()
          return null
        }
        const got = chunk.byteLength
        if (got >= asked) readSize = Math.min(asked * 4, chunkSize)
        else if (got < asked / 4) readSize = Math.max(asked / 2, leastRead)
        streams?.touch()
        return chunk
      } catch (error) {
        readEnded()
        throw streamError(error)
      }
    },
    write(chunk: Uint8Array): Promise<void> {
      // the binding runs each write as a task of its own: one starts only after the one before
      // it ended (as a web stream's sink is used), or the bytes could go out of order
      if (lastWrite === undefined) return track(writeNow(chunk))
      return track(lastWrite.then(() => writeNow(chunk)))
    },
    async finish(): Promise<void> {
      // after every write given before (a stream's preamble too)
      if (lastWrite !== undefined) await lastWrite
      call((s) => s.finishWrite())
      writeEnded()
    },
  }
  /** Settles once the last write given to `direct.write` settled; undefined when none is left. */
  let lastWrite: Promise<unknown> | undefined
  const track = (write: Promise<void>): Promise<void> => {
    const settled = write.then(noop, noop)
    lastWrite = settled
    void settled.then(() => {
      if (lastWrite === settled) lastWrite = undefined
    })
    return write
  }
  async function writeNow(chunk: Uint8Array): Promise<void> {
    const s = held
    writing++
    try {
      if (s === undefined || writeDone) throw new Error('connection lost')
      await s.write(chunk)
    } catch (error) {
      throw streamError(error)
    } finally {
      if (--writing === 0 && finishing) finishIfIdle()
    }
  }
  // the web streams are built on first use only: a message channel uses `direct` alone, and the
  // two cost about 19 us and 5 KB of heap per stream (a node's lanes are channels)
  let readable: ReadableStream<Uint8Array> | undefined
  let writable: WritableStream<Uint8Array> | undefined
  const newReadable = () =>
    new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          let chunk: Uint8Array | null
          try {
            chunk = await direct.read()
          } catch (error) {
            controller.error(error)
            return
          }
          if (chunk === null) controller.close()
          else controller.enqueue(chunk)
        },
        cancel() {
          call((s) => s.stopRead())
          readEnded()
        },
      },
      { highWaterMark: 0 },
    )
  const newWritable = () =>
    new WritableStream<Uint8Array>({
      write: direct.write,
      close: direct.finish,
      abort() {
        call((s) => s.resetWrite())
        writeEnded()
      },
    })
  const engineStream: EngineStream = {
    id: Number(stream.id()) * 4 + (serverInitiated ? 1 : 0),
    direct,
    get readable() {
      readable ??= newReadable()
      return readable
    },
    get writable() {
      writable ??= newWritable()
      return writable
    },
    reset() {
      // the binding resets with code 0 whatever we ask for (capability streamResetCodes: false)
      call((s) => s.resetWrite())
      call((s) => s.stopRead())
      readEnded()
      writeEnded()
    },
  }
  return engineStream
}

/**
 * A connection's live streams: the read sides still open, so a notified connection can wait for
 * the peer's last bytes, and the write sides still open, so a closing one can end them first.
 */
export class StreamSet {
  readonly #open = new Set<object>()
  /** What each stream not yet fully ended holds of the binding (let go by `forgetAll`). */
  readonly #holders = new Map<object, () => void>()
  /** How to end each stream's write side gracefully (see `finishWrites`). */
  readonly #writers = new Map<object, () => void>()
  #lastRead = 0
  #waiter: (() => void) | undefined
  /** The connection closed (`forgetAll`): a stream wrapped later lets go at once. */
  #forgotten = false
  add(token: object, forget?: () => void, finish?: () => void): void {
    // a stream that arrived as the connection closed (e.g. the peer's close notice, accepted
    // after `forgetAll`) must not keep the binding's objects either
    if (this.#forgotten) {
      forget?.()
      return
    }
    this.#open.add(token)
    if (forget !== undefined) this.#holders.set(token, forget)
    if (finish !== undefined) this.#writers.set(token, finish)
  }
  /** The write side of the stream behind `token` ended. */
  wrote(token: object): void {
    this.#writers.delete(token)
  }
  /**
   * We are closing: every write side still open ends (a FIN) once what was written before is
   * handed over, so the peer's read sides end and it need not wait for quiet before it closes.
   */
  finishWrites(): void {
    for (const finish of [...this.#writers.values()]) finish()
  }
  delete(token: object): void {
    if (this.#open.delete(token) && this.#open.size === 0) this.#waiter?.()
  }
  /** The stream behind `token` ended both ways: it holds nothing any more. */
  ended(token: object): void {
    this.#holders.delete(token)
    this.#writers.delete(token)
  }
  /** The connection closed: every stream lets go of the binding's objects. */
  forgetAll(): void {
    this.#forgotten = true
    for (const forget of this.#holders.values()) forget()
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

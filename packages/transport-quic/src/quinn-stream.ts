// The quinn binding's streams as engine streams (web streams over the binding's pull reads), and
// the set of read sides a closing connection waits for.
import { errorMessage } from '@peer/discovery-core/internal'
import type { EngineStream } from './engine.js'
import { StreamResetError } from './errors.js'
import type { QuinnStream } from './quinn-binding.js'

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

/**
 * A binding stream as an engine stream. The binding numbers streams by index; the QUIC stream id
 * is `4 * index + 1` for server-initiated bidirectional streams, `4 * index` for client ones.
 */
export function wrapStream(
  stream: QuinnStream,
  chunkSize: number,
  serverInitiated: boolean,
  reading?: ReadingSet,
): EngineStream {
  const token = {}
  reading?.add(token)
  const readEnded = () => reading?.delete(token)
  const call = (fn: () => unknown) => {
    try {
      settle(fn())
    } catch {
      // the stream is gone already
    }
  }
  return {
    id: Number(stream.id()) * 4 + (serverInitiated ? 1 : 0),
    readable: new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const chunk = await stream.read(chunkSize)
            if (chunk === null) {
              readEnded()
              controller.close()
            } else {
              reading?.touch()
              controller.enqueue(chunk)
            }
          } catch (error) {
            readEnded()
            controller.error(streamError(error))
          }
        },
        cancel() {
          readEnded()
          call(() => stream.stopRead())
        },
      },
      { highWaterMark: 0 },
    ),
    writable: new WritableStream<Uint8Array>({
      async write(chunk) {
        try {
          await stream.write(chunk)
        } catch (error) {
          throw streamError(error)
        }
      },
      close() {
        call(() => stream.finishWrite())
      },
      abort() {
        call(() => stream.resetWrite())
      },
    }),
    reset() {
      // the binding resets with code 0 whatever we ask for (capability streamResetCodes: false)
      call(() => stream.resetWrite())
      call(() => stream.stopRead())
      readEnded()
    },
  }
}

/** Streams whose read side is still open, so a close can wait for the peer's last bytes. */
export class ReadingSet {
  readonly #open = new Set<object>()
  #lastRead = 0
  #waiter: (() => void) | undefined
  add(token: object): void {
    this.#open.add(token)
  }
  delete(token: object): void {
    if (this.#open.delete(token) && this.#open.size === 0) this.#waiter?.()
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

// Stream opens waiting for the peer's stream limit: a bounded queue of waiters, granted by polling
// the engine's stream credit (it has no event for it) only while someone waits.
import { abortErrorFor } from '@peer/discovery-core'
import { whenAborted } from '@peer/discovery-core/internal'
import { TransportLimitError } from './errors.js'

/** @internal The stream opens of one connection that wait for stream credit. */
export class StreamOpenQueue {
  readonly #waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  readonly #streamsLeft: () => number
  readonly #max: number
  #poll: NodeJS.Timeout | undefined

  /** `streamsLeft`: streams the peer lets us open now; `max`: waiters allowed at once. */
  constructor(streamsLeft: () => number, max: number) {
    this.#streamsLeft = streamsLeft
    this.#max = max
  }

  /**
   * Undefined when a stream may be opened now (nobody waits and there is credit); else a promise
   * that resolves when it may, rejects with the `signal`'s abort or the error of `failAll`.
   * Throws `TransportLimitError` when `max` opens wait already.
   */
  wait(signal: AbortSignal | undefined): Promise<void> | undefined {
    if (this.#waiters.length === 0 && this.#streamsLeft() > 0) return undefined
    if (this.#waiters.length >= this.#max) {
      throw new TransportLimitError(
        `${this.#waiters.length} stream opens already wait for the peer's stream limit`,
      )
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          off?.()
          resolve()
        },
        reject: (e: unknown) => {
          off?.()
          reject(e)
        },
      }
      const off =
        signal &&
        whenAborted(signal, () => {
          const i = this.#waiters.indexOf(waiter)
          if (i >= 0) this.#waiters.splice(i, 1)
          waiter.reject(abortErrorFor(signal))
        })
      this.#waiters.push(waiter)
      this.#startPolling()
    })
  }

  /** Rejects every waiter with `error` and stops polling (the connection closed). */
  failAll(error: unknown): void {
    for (const w of this.#waiters.splice(0)) w.reject(error)
    this.#stopPolling()
  }

  #startPolling(): void {
    if (this.#poll !== undefined) return
    this.#poll = setInterval(() => this.#grant(), 2)
    this.#poll.unref()
  }

  #stopPolling(): void {
    if (this.#poll !== undefined) clearInterval(this.#poll)
    this.#poll = undefined
  }

  #grant(): void {
    let left = this.#streamsLeft()
    while (left > 0 && this.#waiters.length > 0) {
      this.#waiters.shift()?.resolve()
      left--
    }
    if (this.#waiters.length === 0) this.#stopPolling()
  }
}

import { raceSignal } from './abort.js'

/**
 * Runs async tasks one at a time, in call order. A task that fails does not block the next.
 * `run(fn, signal)` rejects with `AbortError` when `signal` aborts (the task itself, once begun,
 * still runs to completion and keeps the order).
 */
export class SerialLock {
  #tail: Promise<unknown> = Promise.resolve()

  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const next = this.#tail.then(fn, fn)
    this.#tail = next.catch(() => {})
    return signal === undefined ? next : raceSignal(next, signal)
  }

  /** Settles once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.#tail.then(() => {})
  }
}

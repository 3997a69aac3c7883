import { type AbortOptions, abortErrorFor, throwIfAborted } from '@peer/discovery-core'
import { whenAborted } from '@peer/discovery-core/internal'
import { TransportLimitError } from './errors.js'
import { type Waiter, waitIn } from './waiters.js'

const NO_OPTIONS: AbortOptions = {}

interface QueueWaiter<T> extends Waiter<T | undefined> {
  /** The queue's bound signal, when the wait came with it (see `AsyncQueue.#signal`). */
  signal?: AbortSignal
}

/**
 * A bounded FIFO with async consumers: `push` fails (returns false) when full, `shift` waits for
 * an item, `end(error?)` wakes every waiter (with the error, or with `undefined` items as "done").
 * @internal
 */
export class AsyncQueue<T> {
  readonly #items: T[] = []
  #head = 0
  readonly #waiters: Array<QueueWaiter<T>> = []
  #ended = false
  #error: unknown
  /**
   * The signal most waits come with (a consumer passes the same one each time), listened to once
   * for the whole queue: wiring an abort listener per wait cost microseconds per message.
   */
  #signal: AbortSignal | undefined
  #offAbort: (() => void) | undefined

  constructor(readonly limit: number) {}

  get size(): number {
    return this.#items.length - this.#head
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Adds an item; false when the queue is full or ended. */
  push(item: T): boolean {
    if (this.#ended) return false
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      waiter.resolve(item)
      return true
    }
    if (this.size >= this.limit) return false
    this.#items.push(item)
    return true
  }

  /** The next queued item, taken synchronously; `undefined` when none is queued. */
  shiftNow(): T | undefined {
    if (this.size === 0) return undefined
    const item = this.#items[this.#head] as T
    this.#items[this.#head] = undefined as T
    this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head)
      this.#head = 0
    }
    return item
  }

  /** Up to `max` queued items, taken synchronously, in order (an empty array when none is queued). */
  shiftMany(max: number): T[] {
    const n = Math.min(max, this.size)
    if (n === 0) return []
    const head = this.#head
    const out = this.#items.slice(head, head + n)
    if (head + n === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    } else {
      this.#items.fill(undefined as T, head, head + n)
      this.#head = head + n
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head)
        this.#head = 0
      }
    }
    return out
  }

  /** The next item, or `undefined` once ended (rejects with the end error, if one was given). */
  shift(options: AbortOptions = NO_OPTIONS): Promise<T | undefined> {
    if (this.size > 0) return Promise.resolve(this.shiftNow())
    if (this.#ended)
      return this.#error === undefined ? Promise.resolve(undefined) : Promise.reject(this.#error)
    const signal = options.signal
    try {
      throwIfAborted(signal)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.#waiters.length >= this.limit) {
      return Promise.reject(new TransportLimitError(`too many concurrent waiters (${this.limit})`))
    }
    // the common cases (a message stream's consumer waiting for the next item, without a signal
    // or with the same one each time): no abort wiring per wait
    if (signal !== undefined) {
      if (this.#signal === undefined) this.#bind(signal)
      if (signal === this.#signal) {
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject, signal }))
      }
    }
    return waitIn(this.#waiters, signal)
  }

  /** Listens to `signal` for the queue's lifetime: its abort fails the waits that came with it. */
  #bind(signal: AbortSignal): void {
    this.#signal = signal
    this.#offAbort = whenAborted(signal, () => {
      const error = abortErrorFor(signal)
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const waiter = this.#waiters[i] as QueueWaiter<T>
        if (waiter.signal !== signal) continue
        this.#waiters.splice(i, 1)
        waiter.reject(error)
      }
    })
  }

  /** Ends the queue: queued items can still be shifted; then `undefined` (or `error`). */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    // the signal no longer keeps this queue reachable
    this.#offAbort?.()
    this.#offAbort = undefined
    for (const w of this.#waiters.splice(0)) {
      if (error === undefined) w.resolve(undefined)
      else w.reject(error)
    }
  }

  /** Removes and returns every queued item (for cleanup). */
  drain(): T[] {
    const out = this.#items.slice(this.#head)
    this.#items.length = 0
    this.#head = 0
    return out
  }
}

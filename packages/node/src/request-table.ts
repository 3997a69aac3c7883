import { abortErrorFor } from '@peer/discovery-core'
import { toError, whenAborted } from '@peer/discovery-core/internal'
import { MAX_REQUEST_ID } from './envelope.js'
import { RequestTimeoutError, TooManyRequestsError } from './errors.js'

/**
 * The highest id a request or ping gets: the two above it are the stall watch's and the liveness
 * probe's (their pongs are told apart by id).
 */
export const MAX_ALLOCATED_ID = MAX_REQUEST_ID - 2

/**
 * How fast {@link RequestTable.latency} is forgotten: it decays by e every this many ms after the
 * last answer (a provider that answers slowly is tried again after some seconds: 14 s at 80 ms).
 */
export const LATENCY_DECAY_MS = 5000

/**
 * Answers before {@link RequestTable.latency} says anything: the fastest of fewer can be one taken
 * under load (a provider measured slow on two answers was left out of a loop of 500 requests).
 */
export const LATENCY_MIN_ANSWERS = 8

/** One request (or ping) waiting for its answer. */
export interface Pending {
  readonly kind: 'req' | 'ping'
  readonly topic: string
  settle(error: Error | undefined, value?: unknown): void
}

/**
 * The requests and pings in flight to one peer: ids (1 to {@link MAX_ALLOCATED_ID}, wrapping, never
 * one in use), timeouts, `{ signal }` aborts, and failing them all when the link ends. Bounded by
 * `limit`.
 * @internal
 */
export class RequestTable {
  readonly #pending = new Map<number, Pending>()
  readonly #peer: string
  readonly #limit: number
  readonly #onSettled: () => void
  readonly #onTimeout: () => void
  #nextId = 1
  /** Answers so far, the fastest of them but the first (see {@link latency}), and when the last came. */
  #answers = 0
  #fastest = Number.POSITIVE_INFINITY
  #answeredAt = 0

  constructor(peer: string, limit: number, onSettled: () => void, onTimeout: () => void) {
    this.#peer = peer
    this.#limit = limit
    this.#onSettled = onSettled
    this.#onTimeout = onTimeout
  }

  get size(): number {
    return this.#pending.size
  }

  /**
   * How long answers take at best, in ms: the fastest answer (request or ping) but the first (the
   * first on a connection opens its lane and runs cold), decayed towards 0 by {@link
   * LATENCY_DECAY_MS} since the last answer; 0 until {@link LATENCY_MIN_ANSWERS} answers. The
   * fastest, not the latest: one slow answer under load says nothing of the path.
   */
  latency(now = performance.now()): number {
    if (this.#answers < LATENCY_MIN_ANSWERS) return 0
    return this.#fastest * Math.exp(-(now - this.#answeredAt) / LATENCY_DECAY_MS)
  }

  /** An answer came at `now`, `ms` after its request was sent. */
  #observe(ms: number, now: number): void {
    this.#answers++
    this.#answeredAt = now
    if (this.#answers > 1) this.#fastest = Math.min(this.#fastest, ms)
  }

  /** A free id; throws `TooManyRequestsError` at the limit. */
  allocate(): number {
    if (this.#pending.size >= this.#limit) {
      throw new TooManyRequestsError(this.#peer, 'requests in flight', this.#limit)
    }
    let id = this.#nextId
    while (this.#pending.has(id)) id = id >= MAX_ALLOCATED_ID ? 1 : id + 1
    this.#nextId = id >= MAX_ALLOCATED_ID ? 1 : id + 1
    return id
  }

  /**
   * Registers `id` and resolves with its answer. `send` puts the request on the wire; its failure
   * fails the request.
   */
  wait(
    kind: 'req' | 'ping',
    id: number,
    topic: string,
    timeout: number,
    signal: AbortSignal | undefined,
    send: () => Promise<void>,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      let off: (() => void) | undefined
      const sentAt = performance.now()
      const pending: Pending = {
        kind,
        topic,
        settle: (error, value) => {
          clearTimeout(timer)
          off?.()
          if (error === undefined) {
            const now = performance.now()
            this.#observe(now - sentAt, now)
            resolve(value)
          } else reject(error)
          this.#onSettled()
        },
      }
      this.#pending.set(id, pending)
      timer = setTimeout(() => {
        if (this.#pending.get(id) !== pending) return
        this.#onTimeout()
        this.#settle(id, pending, new RequestTimeoutError(this.#peer, topic, timeout))
      }, timeout)
      if (signal !== undefined)
        off = whenAborted(signal, () => this.#settle(id, pending, abortErrorFor(signal)))
      send().catch((error: unknown) => this.#settle(id, pending, toError(error)))
    })
  }

  /** The request waiting for an answer of this kind and topic with this id, taken out of the table. */
  take(id: number, kind: 'req' | 'ping', topic: string): Pending | undefined {
    const pending = this.#pending.get(id)
    if (pending === undefined || pending.kind !== kind || (kind === 'req' && pending.topic !== topic)) {
      return undefined
    }
    this.#pending.delete(id)
    return pending
  }

  /** Fails every request in flight with `error`. */
  failAll(error: Error): void {
    for (const [id, pending] of [...this.#pending]) this.#settle(id, pending, error)
  }

  #settle(id: number, pending: Pending, error: Error): void {
    if (this.#pending.get(id) !== pending) return
    this.#pending.delete(id)
    pending.settle(error)
  }
}

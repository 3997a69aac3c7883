/** Messages acknowledged at once at most; more are acknowledged in several `ack` envelopes. */
const ACK_EVERY = 64
/** How long a delivered message may wait for its `ack` (so a lone message is confirmed soon). */
const ACK_DELAY_MS = 5

/**
 * The receiving half of delivery accounting: counts the `msg` envelopes of each lane handed to a
 * handler and tells the sender in `ack` envelopes, every {@link ACK_EVERY} messages of a lane or
 * {@link ACK_DELAY_MS} ms after the first unacknowledged one, whichever comes first.
 * @internal
 */
export class AckBatcher {
  readonly #counts: number[]
  readonly #send: (lane: number, count: number) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #closed = false

  readonly #immediate: ReadonlySet<number>

  /** Messages of the `immediate` lanes are acknowledged at once (bulk lanes: large messages, a window). */
  constructor(lanes: number, send: (lane: number, count: number) => void, immediate: ReadonlySet<number>) {
    this.#counts = new Array<number>(lanes).fill(0)
    this.#send = send
    this.#immediate = immediate
  }

  /** One more `msg` of `lane` was handed to a handler (or counted as unhandled). */
  delivered(lane: number): void {
    if (this.#closed) return
    const n = ++this.#counts[lane]!
    if (n >= ACK_EVERY || this.#immediate.has(lane)) {
      this.#counts[lane] = 0
      this.#send(lane, n)
      return
    }
    this.#timer ??= setTimeout(() => this.flush(), ACK_DELAY_MS)
  }

  /** Sends every pending count now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#closed) return
    for (let lane = 0; lane < this.#counts.length; lane++) {
      const n = this.#counts[lane]!
      if (n === 0) continue
      this.#counts[lane] = 0
      this.#send(lane, n)
    }
  }

  /** Stops (nothing more is sent). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

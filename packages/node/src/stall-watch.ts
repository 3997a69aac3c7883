import { MAX_REQUEST_ID } from './envelope.js'

/** The ping id the stall watch uses (request pings count up from 1 and never get this far in practice). */
export const STALL_PING_ID = MAX_REQUEST_ID

/** What a stall watch reads from and does on its link. @internal */
export interface StallWatchLink {
  /** Bytes received on the link so far: any growth is progress. */
  received(): number
  /**
   * True while the link waits for the peer: requests in flight, messages queued or unconfirmed, a
   * liveness probe's ping unanswered.
   */
  waiting(): boolean
  /** Sends the watch's ping on the control lane (never throws). */
  ping(): void
  /**
   * The link looks stalled: it waited for the peer, nothing arrived for the stall timeout, and a
   * ping went unanswered. `recovered` aborts when anything arrives again or the watch closes.
   */
  stalled(recovered: AbortSignal): void
}

/**
 * Notices a connection that stopped carrying traffic while the link waits for the peer (a
 * partition shorter than the idle timeout: QUIC resumes only at its next retransmission after the
 * heal, seconds later under back-off). Every quarter of `timeoutMs` it looks at the bytes received;
 * after half of `timeoutMs` without any while waiting it sends a ping on the control lane (a peer
 * that is merely slow to answer a request still answers it), and after `timeoutMs` without any
 * the link is stalled (reported once until traffic arrives again). Once that ping is out, the link
 * waits for its answer: a request that timed out in the meantime (its timeout shorter than the
 * stall timeout, as callers set them) does not restart the count, so a peer that died is found by
 * the first call that waited on it. An idle link sends nothing.
 * @internal
 */
export class StallWatch {
  readonly #link: StallWatchLink
  readonly #timeoutMs: number
  readonly #timer: ReturnType<typeof setInterval>
  #received = 0
  #quietSince = 0
  #pinged = false
  #recovered: AbortController | undefined
  #nextStall: AbortController | undefined
  #closed = false

  constructor(link: StallWatchLink, timeoutMs: number) {
    this.#link = link
    this.#timeoutMs = timeoutMs
    this.#received = link.received()
    this.#quietSince = performance.now()
    this.#timer = setInterval(() => this.#tick(), Math.max(10, Math.floor(timeoutMs / 4)))
    this.#timer.unref()
  }

  /** True while the link is reported stalled and nothing arrived since. */
  get suspect(): boolean {
    return this.#recovered !== undefined
  }

  /**
   * A signal that aborts when the link is next reported stalled, for a call that would rather give
   * up on the connection then (a service request failing over); `undefined` while it is stalled
   * now, or once the watch closed (a signal that never aborts: the link's close fails its calls).
   */
  nextStall(): AbortSignal | undefined {
    if (this.#closed || this.#recovered !== undefined) return undefined
    this.#nextStall ??= new AbortController()
    return this.#nextStall.signal
  }

  /** Stops watching (the link ended). */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#nextStall = undefined
    this.#recovered?.abort()
    this.#recovered = undefined
  }

  #tick(): void {
    if (this.#closed) return
    const now = performance.now()
    const received = this.#link.received()
    if (
      received !== this.#received ||
      (this.#recovered === undefined && !this.#pinged && !this.#link.waiting())
    ) {
      // progress, or nothing expected from the peer (not even the answer to our ping): start over
      // (a stalled link stays suspect until something arrives)
      this.#received = received
      this.#quietSince = now
      this.#pinged = false
      this.#recovered?.abort()
      this.#recovered = undefined
      return
    }
    const quiet = now - this.#quietSince
    if (!this.#pinged && quiet >= this.#timeoutMs / 2) {
      this.#pinged = true
      this.#link.ping()
    }
    if (this.#recovered === undefined && quiet >= this.#timeoutMs) {
      this.#recovered = new AbortController()
      const next = this.#nextStall
      this.#nextStall = undefined
      next?.abort(new Error('the connection stalled'))
      this.#link.stalled(this.#recovered.signal)
    }
  }
}

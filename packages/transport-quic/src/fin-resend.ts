// Stream ends (FIN) on the matrixai engine after packet loss.
//
// quiche 0.18, inside @matrixai/quic 2.0.9, can lose a stream's end for good: a FIN written with
// no data rides in a frame of its own, and when that frame is declared lost while earlier data of
// the stream is being retransmitted, the retransmission goes out without the FIN and nothing queues
// the FIN again (the frame's loss only re-queues a stream that has nothing else to send; its FIN
// flag is sent only with data that reaches the final offset; so reads quiche's 0.18.0 source, and
// writing the end again ends the peer's wait at once). The peer then has every byte and
// waits for an end that never comes: a channel's iterator, a `readable` and a peer's
// `for await` hang until something else is written on that stream. On this machine it hung a
// 10,000-message channel over loopback under load in 41 of 12,000 runs (upstream: quiche issue
// 2525 is the related case of a stream collected before its FIN was sent).
//
// A quiche stream accepts the same end again (same final size; the peer ignores duplicates), and
// writing it queues a fresh FIN frame, so this writes the end of recently ended streams again at a
// few moments after a loss, with an ack-eliciting packet so that something answers at once. A
// connection that loses nothing costs one counter read per tick while streams ended in the last
// seconds. What this does not change: quiche's probe timer backs off after unanswered probes, so
// on a lossy path ends and data can still wait seconds for it (as before; quinn does not).

import { BoundedMap } from '@peer/discovery-core/internal'

/** The members of a @matrixai/quic connection that re-writing an end uses (internal in its typings). */
export interface FinConnection {
  readonly conn: {
    /** quiche `stream_send`: `null` when quiche says Done (e.g. the stream was collected). */
    streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null
    sendAckEliciting(): void
    stats(): { lost: number | bigint }
    isClosed(): boolean
  }
  /** Flushes what quiche has to send (the engine's own `send`). */
  send(): Promise<void>
}

/**
 * When (ms after a stream's end was written) the end is written again, if the connection lost a
 * packet since shortly before the end or loses one meanwhile. Growing steps: the engine's probe
 * timer backs off the same way, and under load the first tries may find data still in flight.
 */
export const FIN_RESEND_MS: readonly number[] = [100, 400, 1_600, 6_400]

/** Stream ends tracked per connection at most (the oldest is dropped first). */
export const MAX_TRACKED_ENDS = 256

const EMPTY = new Uint8Array(0)
/** A timer may fire up to a millisecond before `performance.now()` reaches its due time. */
const TIMER_SLACK_MS = 2
/** Ticks come at most this often, however many streams end (each tick reads the counters once). */
const MIN_TICK_MS = 50
/** An end written this soon after a loss was seen may have retransmissions queued ahead of it. */
const RECENT_LOSS_MS = 1_000

/** Timing of a {@link FinResender} (tests shorten it). */
export interface FinResendOptions {
  /** See {@link FIN_RESEND_MS}. */
  schedule?: readonly number[]
  /** Ticks at most this often (ms). Default 50. */
  minTickMs?: number
  /** An end this soon after a loss was seen is re-written at every step (ms). Default 1,000. */
  recentLossMs?: number
  now?: () => number
}

interface Entry {
  /** When the end was written (ms, `now()`). */
  readonly at: number
  /** Index of the next step of the schedule. */
  step: number
  /** A loss was seen around the end or since: re-write it at the coming steps. */
  eligible: boolean
}

/** The recently ended streams of one connection, and the timer that re-writes their ends. */
export class FinResender {
  readonly #connection: FinConnection
  readonly #schedule: readonly number[]
  readonly #now: () => number
  readonly #minTickMs: number
  readonly #recentLossMs: number
  readonly #entries = new BoundedMap<number, Entry>(MAX_TRACKED_ENDS)
  /** The connection's lost-packet count when last read. */
  #lostSeen = 0
  /** When a tick last saw the count grow (`-Infinity`: never). */
  #lossSeenAt = Number.NEGATIVE_INFINITY
  /** When the last tick ran. */
  #lastTick = Number.NEGATIVE_INFINITY
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  /** Ends written again (for tests and stats). */
  resent = 0

  constructor(connection: FinConnection, options: FinResendOptions = {}) {
    this.#connection = connection
    this.#schedule = options.schedule ?? FIN_RESEND_MS
    this.#now = options.now ?? (() => performance.now())
    this.#minTickMs = options.minTickMs ?? MIN_TICK_MS
    this.#recentLossMs = options.recentLossMs ?? RECENT_LOSS_MS
  }

  /** Streams whose end is still watched. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * The end (FIN) of `streamId` was written. Cheap (no engine call): the counters are read by the
   * ticks, one read per tick however many streams end.
   */
  ended(streamId: number): void {
    if (this.#stopped || this.#schedule.length === 0) return
    const now = this.#now()
    // a loss seen lately may still have retransmissions queued ahead of this end; one since the
    // last tick is seen by the next, which makes every end it finds eligible
    this.#entries.set(streamId, { at: now, step: 0, eligible: now - this.#lossSeenAt < this.#recentLossMs })
    this.#arm()
  }

  /** The connection is gone: forget everything, no timer left. */
  stop(): void {
    this.#stopped = true
    this.#entries.clear()
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Whether the lost-packet count grew since the last read; `undefined` when the connection is closed. */
  #readLoss(): boolean | undefined {
    const conn = this.#connection.conn
    try {
      if (conn.isClosed()) {
        this.stop()
        return undefined
      }
      const lost = Number(conn.stats().lost)
      const grew = lost > this.#lostSeen
      this.#lostSeen = lost
      return grew
    } catch {
      this.stop()
      return undefined
    }
  }

  #tick(): void {
    this.#timer = undefined
    const loss = this.#readLoss()
    if (loss === undefined) return
    const now = this.#now()
    this.#lastTick = now
    if (loss) this.#lossSeenAt = now
    const conn = this.#connection.conn
    let wrote = false
    for (const [id, entry] of this.#entries) {
      if (loss) entry.eligible = true
      const due = entry.at + (this.#schedule[entry.step] as number)
      if (now + TIMER_SLACK_MS < due) continue
      entry.step++
      if (entry.eligible) {
        let result: number | null
        try {
          result = conn.streamSend(id, EMPTY, true)
        } catch {
          result = null // stopped or reset by the peer: nothing to end any more
        }
        if (result === null) {
          this.#entries.delete(id)
          continue
        }
        wrote = true
        this.resent++
      }
      if (entry.step >= this.#schedule.length) this.#entries.delete(id)
    }
    if (wrote) {
      try {
        conn.sendAckEliciting()
      } catch {
        // closing meanwhile: the send below fails quietly too
      }
      try {
        this.#connection.send().catch(() => {})
      } catch {
        // the engine refuses synchronously once the connection stopped: nothing to flush
      }
    }
    this.#arm()
  }

  #arm(): void {
    if (this.#stopped || this.#timer !== undefined || this.#entries.size === 0) return
    let next = Number.POSITIVE_INFINITY
    for (const entry of this.#entries.values()) {
      next = Math.min(next, entry.at + (this.#schedule[entry.step] as number))
    }
    const now = this.#now()
    this.#timer = setTimeout(
      () => this.#tick(),
      Math.max(0, next - now, this.#lastTick + this.#minTickMs - now),
    )
    this.#timer.unref()
  }
}

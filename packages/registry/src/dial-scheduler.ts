// The dial scheduler of PeerRegistry: the dial queue bounded by `maxConcurrentDials`, and the
// per-peer redial timers (backoff, probing after a path loss, the hold after a departure).

import { type Logger, shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { RegistryConnection } from './interfaces.js'
import type { PeerEntry } from './peer-entry.js'
import type { PeerState } from './peer-status.js'

/** What the scheduler needs from the registry. @internal */
export interface DialSchedulerOptions<C extends RegistryConnection> {
  readonly maxDials: number
  readonly backoff: BackoffOptions
  readonly probeAttemptMs: number
  readonly departedHoldMs: number
  readonly log: Logger
  /** True while the registry is started. */
  running(): boolean
  /** The registry's entry for `id`. */
  lookup(id: string): PeerEntry<C> | undefined
  /** Dials a dequeued peer (its promise holds a dial slot). */
  dial(entry: PeerEntry<C>): Promise<void>
  /** A redial timer fired (`state` is the state it was set in: `backoff` or `departed`). */
  redialDue(entry: PeerEntry<C>, state: PeerState): void
  /** A dial went past SLOW_DIAL_MS without an answer (counted once per dial). */
  slowDial(): void
}

/** How long after a path loss redials keep probing back to back (then the backoff spaces them). */
const PROBE_WINDOW_MS = 60_000

/**
 * A dial unanswered this long gives its slot to the next queued peer and goes on as a slow dial
 * (until its own time limit): a peer that is down must not keep peers that are up waiting. A
 * handshake takes a few round trips; past a second, the peer is most likely gone.
 */
export const SLOW_DIAL_MS = 1000

/** A peer never connected is dialed in attempts of this many times `probeAttemptMs`. */
export const UNKNOWN_PATH_ATTEMPTS = 3

/** Slow dials in flight at most, per dial slot (`maxConcurrentDials`). */
export const SLOW_DIALS_PER_SLOT = 16

/** The dial queue and redial timers. @internal */
export class DialScheduler<C extends RegistryConnection> {
  readonly #o: DialSchedulerOptions<C>
  readonly #queue = new Set<string>()
  /** Peers whose dials wait (see {@link DialScheduler.hold}): how many holds each has. */
  readonly #held = new Map<string, number>()
  /** Held peers a dial was asked for meanwhile. */
  readonly #deferred = new Set<string>()
  #activeDials = 0
  #slowDials = 0
  /** Dials past SLOW_DIAL_MS while the slow dials were at their bound: each frees its slot when promoted. */
  readonly #overdue = new Set<() => void>()

  constructor(options: DialSchedulerOptions<C>) {
    this.#o = options
  }

  /** Queues a dial of `entry` unless it is connected, dialing, or has no address. */
  enqueue(entry: PeerEntry<C>): void {
    if (!this.#o.running() || entry.connection !== undefined || entry.dial !== undefined) return
    if (entry.addresses.length === 0) {
      entry.state = 'idle'
      return
    }
    entry.state = 'queued'
    if (this.#held.has(entry.id)) {
      this.#deferred.add(entry.id)
      return
    }
    this.#queue.add(entry.id)
    this.#pump()
  }

  /**
   * Dials of `id` wait (queued, not started) until `until` settles or `maxMs` passes, whichever is
   * first; then a dial asked for meanwhile starts, unless the peer got a connection.
   */
  hold(id: string, until: Promise<unknown>, maxMs: number): void {
    this.#held.set(id, (this.#held.get(id) ?? 0) + 1)
    let released = false
    const release = () => {
      if (released) return
      released = true
      clearTimeout(timer)
      const left = (this.#held.get(id) ?? 1) - 1
      if (left > 0) {
        this.#held.set(id, left)
        return
      }
      this.#held.delete(id)
      if (!this.#deferred.delete(id)) return
      const entry = this.#o.lookup(id)
      if (entry === undefined || entry.state !== 'queued' || entry.connection !== undefined) return
      this.#queue.add(id)
      this.#pump()
    }
    const timer = setTimeout(release, maxMs)
    timer.unref?.()
    until.then(release, release)
  }

  /** Drops `id` from the queue. */
  dequeue(id: string): void {
    this.#queue.delete(id)
    this.#deferred.delete(id)
  }

  /** Empties the queue. */
  clear(): void {
    this.#queue.clear()
    this.#deferred.clear()
  }

  #pump(): void {
    while (this.#activeDials < this.#o.maxDials && this.#queue.size > 0 && this.#o.running()) {
      const id = this.#queue.values().next().value as string
      this.#queue.delete(id)
      const entry = this.#o.lookup(id)
      if (entry === undefined || entry.state !== 'queued') continue
      this.#start(entry)
    }
  }

  /** Dials `entry` in a slot; past SLOW_DIAL_MS the dial becomes slow and frees the slot. */
  #start(entry: PeerEntry<C>): void {
    this.#activeDials++
    let slow = false
    const promote = () => {
      this.#overdue.delete(promote)
      slow = true
      this.#activeDials--
      this.#slowDials++
      this.#pump()
    }
    const timer = setTimeout(() => {
      this.#o.slowDial()
      if (this.#slowDials < this.#o.maxDials * SLOW_DIALS_PER_SLOT) promote()
      else this.#overdue.add(promote)
    }, SLOW_DIAL_MS)
    timer.unref?.()
    void this.#o
      .dial(entry)
      .catch((error: unknown) => this.#o.log.warn('dial failed unexpectedly', { error: errorMessage(error) }))
      .finally(() => {
        clearTimeout(timer)
        this.#overdue.delete(promote)
        if (slow) {
          this.#slowDials--
          // the longest-waiting overdue dial takes the freed place among the slow ones
          const next = this.#overdue.values().next().value
          if (next !== undefined) next()
        } else this.#activeDials--
        this.#pump()
      })
  }

  /**
   * The attempt length of a probing dial, or 0 for a plain dial. A peer this registry was connected
   * to before (its connection lost, closed by either side, or released as unused) has a known path:
   * its dials are cut into attempts of `probeAttemptMs` (or four round trips of that path, when
   * longer), so a peer that comes back (a healed partition, a process resumed, a restart) is found
   * within about one attempt instead of after QUIC's retransmission backoff, which a dial started
   * while the peer could not answer keeps for the rest of its `dialTimeoutMs` (with `on-demand`,
   * every call to the peer waits for that dial). A peer never connected gets attempts of
   * {@link UNKNOWN_PATH_ATTEMPTS} times `probeAttemptMs`: nothing says how long its handshake takes
   * (3 s lets a handshake over a 1 s round trip complete), and a dial started while it was away
   * still finds it within one attempt of its return.
   */
  probeFor(entry: PeerEntry<C>): number {
    if (this.#o.probeAttemptMs === 0) return 0
    if (entry.pathRtt === undefined) return UNKNOWN_PATH_ATTEMPTS * this.#o.probeAttemptMs
    return Math.max(this.#o.probeAttemptMs, 4 * entry.pathRtt)
  }

  /** Sets the backoff timer of `entry`; returns its delay (ms). */
  scheduleRedial(entry: PeerEntry<C>): number {
    // within PROBE_WINDOW_MS of a path loss, probing redials follow each other with at most one
    // attempt's length between them, so a heal is not missed in a long backoff gap
    const probing =
      this.probeFor(entry) > 0 && entry.lostAt !== undefined && Date.now() - entry.lostAt < PROBE_WINDOW_MS
    const backoff = backoffDelay(entry.backoffLevel, this.#o.backoff)
    const delay = probing ? Math.min(backoff, this.probeFor(entry)) : backoff
    entry.backoffLevel++
    entry.state = 'backoff'
    this.clearTimer(entry) // before nextDialAt, which it clears
    entry.nextDialAt = Date.now() + delay
    entry.timer = setTimeout(() => this.#guard('redial', () => this.#o.redialDue(entry, 'backoff')), delay)
    entry.timer.unref?.()
    return delay
  }

  /**
   * The peer said it is stopping: do not redial it (its listener refuses, or it is gone) until
   * discovery reports it again or an inbound connection arrives; after `departedHoldMs` at most,
   * redial it as usual if it is still discovered.
   */
  holdDeparted(entry: PeerEntry<C>): void {
    entry.state = 'departed'
    entry.backoffLevel = 0
    entry.nextDialAt = Date.now() + this.#o.departedHoldMs
    this.#o.log.debug('peer departed: not redialed until announced again', { id: shortId(entry.id) })
    entry.timer = setTimeout(
      () => this.#guard('redial after a departure', () => this.#o.redialDue(entry, 'departed')),
      this.#o.departedHoldMs,
    )
    entry.timer.unref?.()
  }

  /** Clears the redial timer of `entry`. */
  clearTimer(entry: PeerEntry<C>): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.timer = undefined
    entry.nextDialAt = undefined
  }

  /** Runs a timer's work; a throw is logged, never an uncaught exception. */
  #guard(what: string, work: () => void): void {
    try {
      work()
    } catch (error) {
      this.#o.log.error(`${what} failed`, { error: errorMessage(error) })
    }
  }
}

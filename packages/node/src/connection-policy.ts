// When a connection is unused: the last-use time of every peer, the idle-close sweep of the
// on-demand policy, and the choice of the connection to evict under `maxConnections`.
import type { PeerLink } from './peer-link.js'

/** What the policy needs from its node. @internal */
export interface PolicyHost {
  /** The links that are up. */
  links(): Iterable<PeerLink>
  /** Closes `link`'s connection as unused (`peer:down` with `reason`, no redial). */
  release(link: PeerLink, reason: 'idle'): void
}

/** `Date.now()` read once per event-loop turn (see {@link turnNow}). */
let turnStamp: number | undefined
const endTurn = (): void => {
  turnStamp = undefined
}

/**
 * `Date.now()`, read at most once per event-loop turn: a loop of sends touches its link once per
 * message, and a clock read (about 37 ns here) was most of that touch. A stamp is at most one
 * turn old, far below any idle limit.
 */
function turnNow(): number {
  if (turnStamp === undefined) {
    turnStamp = Date.now()
    setImmediate(endTurn).unref()
  }
  return turnStamp
}

interface Use {
  /** `Date.now()` of the last use seen. */
  at: number
  /** The link's activity counter then, and which link it was read from. */
  activity: number
  link: PeerLink | undefined
}

/**
 * The last use of every peer and what follows from it. A use is a call that needed the link
 * ({@link ConnectionPolicy.touch}) or traffic in either direction, seen as a change of the link's
 * activity counter when the sweep or an eviction reads it (no callback on the per-envelope path).
 * A link with work in flight ({@link PeerLink.busy}) counts as in use: it is never closed as idle
 * nor evicted. @internal
 */
export class ConnectionPolicy {
  readonly #host: PolicyHost
  readonly #idleCloseMs: number | undefined
  readonly #uses = new Map<string, Use>()
  #timer: ReturnType<typeof setInterval> | undefined

  /** `idleCloseMs` undefined: never close for idleness (the `mesh` policy). */
  constructor(host: PolicyHost, idleCloseMs: number | undefined) {
    this.#host = host
    this.#idleCloseMs = idleCloseMs
  }

  /** Starts the idle sweep (every quarter of `idleCloseMs`), when there is one. */
  start(): void {
    if (this.#idleCloseMs === undefined || this.#timer !== undefined) return
    this.#timer = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.#idleCloseMs / 4)))
    this.#timer.unref?.()
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** `link` is used now. */
  touch(link: PeerLink): void {
    const use = this.#uses.get(link.id)
    if (use !== undefined && use.link === link) use.at = turnNow()
    else this.#uses.set(link.id, { at: turnNow(), activity: link.activity, link })
  }

  /** When `id` was last used (`Date.now()` ms), if ever. */
  lastUsed(id: string): number | undefined {
    return this.#uses.get(id)?.at
  }

  /**
   * `link` is down: its use keeps the time (for {@link lastUsed}) but lets go of the link, so a
   * closed connection's state (buffers, lanes, the engine's connection) is not held until the
   * member is used again or leaves.
   */
  unlink(link: PeerLink): void {
    const use = this.#uses.get(link.id)
    if (use !== undefined && use.link === link) use.link = undefined
  }

  /** Forgets `id` (it left the membership). */
  forget(id: string): void {
    this.#uses.delete(id)
  }

  /** Closes every link unused for `idleCloseMs`. */
  sweep(): void {
    const limit = this.#idleCloseMs
    if (limit === undefined) return
    const now = Date.now()
    for (const link of [...this.#host.links()]) {
      const at = this.#refresh(link, now)
      if (!link.busy && now - at >= limit) this.#host.release(link, 'idle')
    }
  }

  /** The id of the least recently used link with no work in flight, or `undefined`. */
  evictionCandidate(): string | undefined {
    const now = Date.now()
    let best: PeerLink | undefined
    let bestAt = Infinity
    for (const link of this.#host.links()) {
      const at = this.#refresh(link, now)
      if (link.busy || link.closed) continue
      if (at < bestAt) {
        best = link
        bestAt = at
      }
    }
    return best?.id
  }

  /** Updates the last use of `link` from its activity counter and busyness; returns it. */
  #refresh(link: PeerLink, now: number): number {
    const use = this.#uses.get(link.id)
    const activity = link.activity
    if (use === undefined || use.link !== link || use.activity !== activity || link.busy) {
      // a link not seen before, traffic since the last look, or work in flight: a use now
      this.#uses.set(link.id, { at: now, activity, link })
      return now
    }
    return use.at
  }
}

// Calls waiting for one peer's link (a dial on first use, a mesh dial in flight, the hello of a
// connection just made, a newer connection taking over) share one wait per peer: the dial, its
// signal and timer, and the wait for the link exist once, and each call adds only its own timer,
// its signal's listener and a place in a set (about 0.6 KB a call; a wait of its own per call
// cost 6.4 KB, which a loop of sends nobody awaits multiplied). At most `max` calls wait for one
// peer at once; one more fails at once with `TooManyRequestsError`.

import { abortErrorFor } from '@peer/discovery-core'
import { MAX_TIMER_MS, whenAborted } from '@peer/discovery-core/internal'
import { NodeStoppedError, TooManyRequestsError } from './errors.js'
import type { PeerLink } from './peer-link.js'

/** A shared wait's failure, said for each caller's own `ref` (a node id or a name). @internal */
export class LinkWaitFailure extends Error {
  readonly sayFor: (ref: string) => Error
  constructor(sayFor: (ref: string) => Error) {
    super('link wait failed')
    this.sayFor = sayFor
  }
}

/** What a shared wait is told by the one who runs it. @internal */
export interface SharedWait {
  /** Aborted when no call waits any more, or when the node stops. */
  readonly signal: AbortSignal
  /** Says that the connection is made and its `hello` runs (what a caller's timeout says). */
  connected(): void
}

/** One way of waiting for a link: how the shared wait runs, and what a caller's timeout says. @internal */
export interface LinkWaitKind<C> {
  /** Keeps this kind's shared waits apart from the others' (a node id never holds it). */
  readonly prefix: string
  /**
   * Runs the shared wait for `id`: resolves with the link that is up, rejects with a
   * `LinkWaitFailure` (or an error said as it is to every caller).
   */
  start(id: string, context: C, shared: SharedWait): Promise<PeerLink>
  /** A caller's error when its `timeoutMs` passed first. */
  timedOut(ref: string, timeoutMs: number, connected: boolean): Error
}

interface Shared {
  readonly key: string
  readonly waiters: Set<Waiter>
  readonly controller: AbortController
  connected: boolean
  settled: boolean
  offStop: () => void
}

interface Waiter {
  readonly id: string
  readonly ref: string
  readonly shared: Shared
  readonly resolve: (link: PeerLink) => void
  readonly reject: (error: Error) => void
  timer: NodeJS.Timeout | undefined
  off: (() => void) | undefined
}

/** The calls waiting for peers' links, one shared wait per peer and kind. @internal */
export class LinkWaits {
  readonly #shared = new Map<string, Shared>()
  /** Calls waiting for each peer, across kinds. */
  readonly #count = new Map<string, number>()
  readonly #max: number
  readonly #lifetime: AbortSignal

  /** `max`: calls that may wait for one peer at once; `lifetime`: aborted when the node stops. */
  constructor(max: number, lifetime: AbortSignal) {
    this.#max = max
    this.#lifetime = lifetime
  }

  /**
   * Waits for `id`'s link as `ref`, within `timeoutMs` and `signal`, joining the shared wait of
   * `kind` for it or starting one (with `context`). Throws `TooManyRequestsError` at once when
   * `max` calls wait for `id`; rejects with an `AbortError` when `signal` aborts, `NodeStoppedError`
   * when the node stops, `kind.timedOut` after `timeoutMs`, or the shared wait's failure.
   */
  wait<C>(
    kind: LinkWaitKind<C>,
    id: string,
    ref: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    context: C,
  ): Promise<PeerLink> {
    const count = this.#count.get(id) ?? 0
    if (count >= this.#max) throw new TooManyRequestsError(id, 'calls waiting for the connection', this.#max)
    if (signal?.aborted) return Promise.reject(abortErrorFor(signal))
    if (this.#lifetime.aborted) return Promise.reject(stopped())
    const key = kind.prefix + id
    const shared = this.#shared.get(key) ?? this.#start(kind, key, id, context)
    this.#count.set(id, count + 1)
    return new Promise<PeerLink>((resolve, reject) => {
      const waiter: Waiter = { id, ref, shared, resolve, reject, timer: undefined, off: undefined }
      shared.waiters.add(waiter)
      waiter.timer = setTimeout(
        () => this.#end(waiter, undefined, kind.timedOut(ref, timeoutMs, shared.connected)),
        Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS),
      )
      if (signal !== undefined) {
        waiter.off = whenAborted(signal, () => this.#end(waiter, undefined, abortErrorFor(signal)))
      }
    })
  }

  #start<C>(kind: LinkWaitKind<C>, key: string, id: string, context: C): Shared {
    const controller = new AbortController()
    const shared: Shared = {
      key,
      waiters: new Set(),
      controller,
      connected: false,
      settled: false,
      offStop: () => {},
    }
    this.#shared.set(key, shared)
    shared.offStop = whenAborted(this.#lifetime, () => this.#settle(shared, undefined, stopped()))
    const run: SharedWait = {
      signal: controller.signal,
      connected: () => {
        shared.connected = true
      },
    }
    // started on the next turn: a shared wait never settles before its first caller joins it
    queueMicrotask(() => {
      if (shared.settled) return
      kind.start(id, context, run).then(
        (link) => this.#settle(shared, link, undefined),
        (error: Error) => this.#settle(shared, undefined, error),
      )
    })
    return shared
  }

  /** Ends the shared wait: every caller still in it resolves with `link` or rejects with `error`. */
  #settle(shared: Shared, link: PeerLink | undefined, error: Error | undefined): void {
    if (shared.settled) return
    this.#close(shared)
    for (const waiter of [...shared.waiters]) {
      const said = error instanceof LinkWaitFailure ? error.sayFor(waiter.ref) : error
      this.#end(waiter, link, said)
    }
  }

  #close(shared: Shared): void {
    shared.settled = true
    shared.offStop()
    if (this.#shared.get(shared.key) === shared) this.#shared.delete(shared.key)
  }

  /** Ends one caller's wait (once); the last caller to leave an unsettled wait aborts it. */
  #end(waiter: Waiter, link: PeerLink | undefined, error: Error | undefined): void {
    const { shared } = waiter
    if (!shared.waiters.delete(waiter)) return
    clearTimeout(waiter.timer)
    waiter.off?.()
    const left = (this.#count.get(waiter.id) ?? 1) - 1
    if (left === 0) this.#count.delete(waiter.id)
    else this.#count.set(waiter.id, left)
    if (shared.waiters.size === 0 && !shared.settled) {
      // nobody waits: the dial goes on in the registry, the wait for it ends
      this.#close(shared)
      shared.controller.abort()
    }
    if (error === undefined) waiter.resolve(link!)
    else waiter.reject(error)
  }
}

function stopped(): NodeStoppedError {
  return new NodeStoppedError('the node stopped while connecting')
}

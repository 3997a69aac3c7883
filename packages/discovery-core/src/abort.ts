import { AbortError } from './errors.js'
import { MAX_TIMER_MS } from './options.js'
import { whenEvent } from './shared-listener.js'

/** Options accepted by every async method: an `AbortSignal` that cancels it. */
export interface AbortOptions {
  /** Cancels the call: it rejects with an `AbortError` (the signal's reason as `cause`). */
  signal?: AbortSignal | undefined
}

/** The `AbortError` for an aborted signal, keeping the signal's reason as `cause`. */
export function abortErrorFor(signal: AbortSignal): AbortError {
  const reason: unknown = signal.reason
  if (reason instanceof AbortError) return reason
  return new AbortError('The operation was aborted', { cause: reason })
}

/** Throws an `AbortError` if `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortErrorFor(signal)
}

/**
 * Calls `callback` once `signal` aborts (never if it has aborted already, like
 * `addEventListener('abort', ...)`); the function returned removes it. However many waits share a
 * signal (a node's lifetime, one a user passes to many calls), the signal has at most one listener
 * of ours, removed with the last wait ({@link whenEvent}): a listener per wait made Node.js warn
 * "Possible EventTarget memory leak detected" past ten waits at once, though each was removed
 * later.
 * @internal
 */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  const off = whenEvent(signal, 'abort', () => {
    off()
    callback()
  })
  return off
}

/**
 * Resolves or rejects like `promise`, or rejects with an `AbortError` as soon as `signal` aborts.
 * Its wait on `signal` ends in `finally`, so long-lived signals do not accumulate listeners.
 */
export async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  throwIfAborted(signal)
  let off: (() => void) | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        off = whenAborted(signal, () => reject(abortErrorFor(signal)))
      }),
    ])
  } finally {
    off?.()
  }
}

/**
 * Waits `ms` milliseconds, or rejects with an `AbortError` (the signal's reason as `cause`) when
 * `signal` aborts. The timer is cleared and the wait on `signal` ends either way, so a
 * long-lived signal used by polling loops collects no listeners (one of ours per signal).
 * A wait longer than a Node.js timer holds (`MAX_TIMER_MS`) waits that long instead of firing
 * after 1 ms (a polling loop would spin).
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(abortErrorFor(signal))
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        off?.()
        resolve()
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    )
    const off =
      signal === undefined
        ? undefined
        : whenAborted(signal, () => {
            clearTimeout(timer)
            reject(abortErrorFor(signal))
          })
  })
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` after `ms` milliseconds, or with an
 * `AbortError` when `signal` aborts, whichever comes first. The timer and listeners are released
 * either way ({@link linkSignals}). Any `ms` works: a fraction (a timer takes it) or one beyond a
 * timer's range is clamped (`AbortSignal.timeout` throws `ERR_OUT_OF_RANGE` on both).
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  throwIfAborted(signal)
  const linked = linkSignals([signal], ms)
  try {
    return await raceSignal(promise, linked.signal)
  } catch (error) {
    if (signal?.aborted) throw abortErrorFor(signal)
    if (linked.timedOut) throw onTimeout()
    throw error
  } finally {
    linked.release()
  }
}

/** A signal for one wait that ends; see {@link linkSignals}. */
export interface LinkedSignal {
  readonly signal: AbortSignal
  /** True when `signal` aborted because its time ran out (not because a parent aborted). */
  readonly timedOut: boolean
  /** Stops the timer and the listeners on the parents: call it once the wait is over. */
  release(): void
}

/**
 * A signal that aborts when one of `parents` aborts (with its reason) or, with `ms`, after `ms`
 * milliseconds (with a `TimeoutError`, as `AbortSignal.timeout`'s): what
 * `AbortSignal.any([...parents, AbortSignal.timeout(ms)])` gives, for waits that end. Those two
 * cost about 28 us per wait here (weak references and a finalization registry, since nobody says
 * when the wait is over; they showed in profiles of a first request). This costs about 4 us, and
 * `release()` leaves nothing behind: no listener on a long-lived parent, no timer.
 */
export function linkSignals(parents: ReadonlyArray<AbortSignal | undefined>, ms?: number): LinkedSignal {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let timedOut = false
  const listening: Array<() => void> = []
  const release = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    for (const off of listening) off()
    listening.length = 0
  }
  for (const parent of parents) {
    if (parent === undefined) continue
    if (parent.aborted) {
      release()
      controller.abort(parent.reason)
      break
    }
    listening.push(
      whenAborted(parent, () => {
        release()
        controller.abort(parent.reason)
      }),
    )
  }
  if (ms !== undefined && !controller.signal.aborted) {
    timer = setTimeout(
      () => {
        timedOut = true
        release()
        controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    )
    timer.unref()
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut
    },
    release,
  }
}

/** Options of {@link settleWithin}. */
export interface SettleWithinOptions extends AbortOptions {
  /** Let the process exit while only this wait is pending (an unref'd timer). Default false. */
  unref?: boolean
}

/**
 * `promise`'s value, or `undefined` after `ms` milliseconds or once `signal` aborts, whichever
 * comes first: a wait that can never be longer than `ms` and never rejects on timeout (a
 * rejection of `promise` itself still rejects). For stop and close paths, where giving up is the
 * answer. The timer and the abort listener are released either way.
 */
export function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
  options: SettleWithinOptions = {},
): Promise<T | undefined> {
  const { signal, unref = false } = options
  if (signal?.aborted === true) {
    promise.catch(() => {})
    return Promise.resolve(undefined)
  }
  // settles in as few turns as a plain `await promise` plus one (no race, no finally): callers on
  // hot paths (a stream's first read) must not fall behind the engine's next read
  return new Promise<T | undefined>((resolve, reject) => {
    const release = () => {
      clearTimeout(timer)
      off?.()
    }
    const expire = () => {
      release()
      resolve(undefined)
    }
    const timer = setTimeout(expire, Math.min(Math.max(0, ms), MAX_TIMER_MS))
    if (unref) timer.unref()
    const off = signal === undefined ? undefined : whenAborted(signal, expire)
    promise.then(
      (value) => {
        release()
        resolve(value)
      },
      (error: unknown) => {
        release()
        reject(error)
      },
    )
  })
}

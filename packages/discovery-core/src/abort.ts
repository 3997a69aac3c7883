import { AbortError } from './errors.js'

/** Options accepted by every async method: an `AbortSignal` that cancels it. */
export interface AbortOptions {
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
 * Resolves or rejects like `promise`, or rejects with an `AbortError` as soon as `signal` aborts.
 * The abort listener is removed in `finally`, so long-lived signals do not accumulate listeners.
 */
export async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  throwIfAborted(signal)
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(abortErrorFor(signal))
        signal.addEventListener('abort', onAbort, { once: true })
      }),
    ])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Waits `ms` milliseconds, or rejects with an `AbortError` when `signal` aborts. Never keeps the
 * process alive longer than needed, and leaves no listener on `signal` behind either way (a
 * long-lived signal used by a polling loop would otherwise collect one per call).
 */
export async function delay(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal)
  return raceSignal(
    new Promise<void>((resolve) => {
      const onAbort = () => clearTimeout(timer)
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
    signal,
  )
}

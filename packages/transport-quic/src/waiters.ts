// Waits that the caller's signal can cancel: a message channel's senders (for buffer space, for the
// buffer to drain) and an AsyncQueue's consumers (for the next item).
import { abortErrorFor } from '@peer/discovery-core'
import { whenAborted } from '@peer/discovery-core/internal'

/** @internal A caller waiting in a list until something settles it. */
export interface Waiter<T = void> {
  resolve: (value: T) => void
  reject: (e: unknown) => void
}

/**
 * A promise settled through a waiter pushed onto `waiters`. With a signal, aborting rejects it with
 * the signal's `AbortError` and takes the waiter out of the list; the abort listener is removed
 * as soon as the waiter settles either way.
 */
export function waitIn<T = void>(waiters: Waiter<T>[], signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal === undefined) {
      waiters.push({ resolve, reject })
      return
    }
    const waiter: Waiter<T> = {
      resolve: (value) => {
        off()
        resolve(value)
      },
      reject: (e) => {
        off()
        reject(e)
      },
    }
    const off = whenAborted(signal, () => {
      const at = waiters.indexOf(waiter)
      if (at !== -1) waiters.splice(at, 1)
      reject(abortErrorFor(signal))
    })
    waiters.push(waiter)
  })
}

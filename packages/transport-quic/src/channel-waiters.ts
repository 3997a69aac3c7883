// The waits of a message channel's senders: for buffer space (`send`) and for the buffer to drain
// (`flush`), each cancellable by its caller's signal.
import { abortErrorFor } from '@peer/discovery-core'

/** @internal A caller waiting for buffer space (`send`) or for the buffer to drain (`flush`). */
export interface Waiter {
  resolve: () => void
  reject: (e: unknown) => void
}

/**
 * A promise settled through a waiter pushed onto `waiters`. With a signal, aborting rejects it with
 * the signal's `AbortError` and takes the waiter out of the list; the abort listener is removed
 * as soon as the waiter settles either way.
 */
export function waitIn(waiters: Waiter[], signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      waiters.push({ resolve, reject })
      return
    }
    const onAbort = (): void => {
      const at = waiters.indexOf(waiter)
      if (at !== -1) waiters.splice(at, 1)
      reject(abortErrorFor(signal))
    }
    const waiter: Waiter = {
      resolve: () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      reject: (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    }
    signal.addEventListener('abort', onAbort, { once: true })
    waiters.push(waiter)
  })
}

// EtcdDiscovery's healing loop: one background task that re-lists the prefix, re-announces this
// node and checks that etcd is still the store being mirrored, each when flagged, serialised with
// every other etcd operation of the backend, and retried with backoff while etcd fails.

import type { Logger } from '@peer/discovery-core'
import { backoffDelay, errorMessage, SerialLock } from '@peer/discovery-core/internal'
import { EtcdDiscoveryError } from './errors.js'

interface Deferred {
  promise: Promise<void>
  resolve: () => void
}

function deferred(): Deferred {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** What the healing loop does in each of its steps. @internal */
export interface HealingSteps {
  /** Re-lists the prefix and diffs it against the mirror. */
  resync(): Promise<void>
  /** Writes this node's announcement under a (new) lease. */
  publish(): Promise<void>
  /** One cheap range: true when etcd is no longer the store being mirrored. */
  check(): Promise<boolean>
  /** True while there is an announcement to publish. */
  announced(): boolean
  reportError(error: EtcdDiscoveryError): void
  readonly maxRetryDelayMs: number
  readonly log: Logger
}

/** The flags that say what the next pass does, the loop task, its wake-up and its lock. @internal */
export class HealingLoop {
  /** Re-list the prefix on the next pass. */
  needResync = false
  /** Write the announcement on the next pass (when there is one). */
  needPublish = false
  /** Check that etcd is still the store being mirrored on the next pass. */
  needCheck = false

  readonly #steps: HealingSteps
  readonly #lock = new SerialLock()
  #wake: (() => void) | undefined
  #abort: AbortController | undefined
  #done: Promise<void> | undefined
  #firstPass: Deferred | undefined
  #checkTimer: NodeJS.Timeout | undefined

  constructor(steps: HealingSteps) {
    this.#steps = steps
  }

  /** True between {@link HealingLoop.begin} and {@link HealingLoop.reset}. */
  get running(): boolean {
    return this.#abort !== undefined
  }

  /** True when no loop runs, or the running one was told to stop. */
  get stopping(): boolean {
    return this.#abort?.signal.aborted !== false
  }

  /**
   * Starts the loop (and a check every `checkIntervalMs`, when above 0); resolves after its first
   * pass, whether that pass succeeded or failed.
   */
  begin(checkIntervalMs: number): Promise<void> {
    const abort = new AbortController()
    this.#abort = abort
    const first = deferred()
    this.#firstPass = first
    // the loop catches its own failures; this catch only makes sure nothing can go unobserved
    this.#done = this.#loop(abort.signal).catch((error: unknown) =>
      this.#steps.log.error('healing loop failed', { error: errorMessage(error) }),
    )
    if (checkIntervalMs > 0) {
      this.#checkTimer = setInterval(() => {
        this.needCheck = true
        this.kick()
      }, checkIntervalMs)
    }
    return first.promise
  }

  /** Tells the loop to stop (it ends after the step it is in). */
  halt(): void {
    this.#abort?.abort()
    this.kick()
  }

  /** Settles when the loop has ended. */
  async finished(): Promise<void> {
    await this.#done?.catch(() => {})
  }

  /** Forgets the ended loop. */
  reset(): void {
    this.#done = undefined
    this.#abort = undefined
    this.#firstPass = undefined
  }

  clearTimer(): void {
    clearInterval(this.#checkTimer)
    this.#checkTimer = undefined
  }

  /** Wakes the loop when it waits (for work, or out of a retry pause). */
  kick(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Runs `fn` with no other etcd operation of the backend (nor a loop step) in between. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn)
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      const publish = this.needPublish && this.#steps.announced()
      if (!this.needResync && !publish && !this.needCheck) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        continue
      }
      try {
        await this.exclusive(() => this.#step(signal))
        failures = 0
        this.#firstPass?.resolve()
      } catch (error) {
        this.#firstPass?.resolve()
        if (signal.aborted) return
        failures++
        this.#steps.reportError(
          error instanceof EtcdDiscoveryError
            ? error
            : new EtcdDiscoveryError('sync', errorMessage(error), { cause: error }),
        )
        const pause = backoffDelay(failures - 1, {
          initialMs: 100,
          maxMs: this.#steps.maxRetryDelayMs,
          jitter: 0.25,
        })
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause)
          this.#wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    }
  }

  async #step(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    if (this.needResync) {
      this.needResync = false
      this.needCheck = false
      try {
        await this.#steps.resync()
      } catch (error) {
        this.needResync = true
        throw new EtcdDiscoveryError('resync', errorMessage(error), { cause: error })
      }
    }
    if (signal.aborted) return
    if (this.needPublish && this.#steps.announced()) {
      this.needPublish = false
      try {
        await this.#steps.publish()
      } catch (error) {
        this.needPublish = true
        throw new EtcdDiscoveryError('announce', errorMessage(error), { cause: error })
      }
    }
    if (signal.aborted) return
    if (this.needCheck) {
      this.needCheck = false
      try {
        if (await this.#steps.check()) this.needResync = true
      } catch (error) {
        throw new EtcdDiscoveryError('check', errorMessage(error), { cause: error })
      }
    }
  }
}

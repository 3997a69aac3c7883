// One wait shape used by waitForPeer and by on-demand dials: until an event says so, a timeout,
// the caller's signal or the node's stop, whichever comes first, with every listener removed.
import { abortErrorFor } from '@peer/discovery-core'
import { whenAborted, whenEvent } from '@peer/discovery-core/internal'
import { NodeStoppedError } from './errors.js'

/** A wait in progress: `finish` settles it (once) from outside, e.g. on a connection's close. @internal */
export interface EventWait<T> {
  readonly promise: Promise<T>
  finish(value: T | undefined, error?: Error): void
}

/** How {@link eventWait} waits. @internal */
export interface EventWaitOptions<T> {
  target: EventTarget
  type: string
  /** Called for each event; calls `finish` once the wait is over. */
  onEvent(event: Event, finish: EventWait<T>['finish']): void
  /** `Infinity`: no time limit (the signal or the lifetime ends the wait). */
  timeoutMs: number
  timeoutError(): Error
  /** Aborted when the node stops: the wait rejects with `NodeStoppedError(stoppedMessage)`. */
  lifetime: AbortSignal
  stoppedMessage: string
  signal?: AbortSignal | undefined
}

/** Starts a wait (see {@link EventWaitOptions}); it settles exactly once. @internal */
export function eventWait<T>(o: EventWaitOptions<T>): EventWait<T> {
  let finish!: EventWait<T>['finish']
  const promise = new Promise<T>((resolve, reject) => {
    let settled = false
    // no timer for a wait bounded otherwise (Infinity: a shared wait its callers' timers bound)
    const timer = Number.isFinite(o.timeoutMs)
      ? setTimeout(() => finish(undefined, o.timeoutError()), Math.max(0, o.timeoutMs))
      : undefined
    finish = (value, error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      offEvent()
      offStop()
      offAbort?.()
      if (error === undefined) resolve(value as T)
      else reject(error)
    }
    const offEvent = whenEvent(o.target, o.type, (event) => o.onEvent(event, finish))
    const offStop = whenAborted(o.lifetime, () => finish(undefined, new NodeStoppedError(o.stoppedMessage)))
    const signal = o.signal
    const offAbort = signal && whenAborted(signal, () => finish(undefined, abortErrorFor(signal)))
  })
  return { promise, finish }
}

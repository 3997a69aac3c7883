import { whenAborted } from '@peer/discovery-core/internal'

/**
 * An `AbortSignal` aborted by the first SIGINT or SIGTERM, by the caller's `signal` (the
 * `{ signal }` of a command function), or once the time given to `runFor` (`--duration`) has
 * elapsed, so a long-running command can stop cleanly. A command calls `runFor` once it is up: a
 * duration counts the time it ran, not its start-up (which takes seconds on a loaded machine). A
 * second SIGINT/SIGTERM exits at once with status 130. `dispose()` removes the handlers, the
 * timer and the listener on the caller's signal.
 */
export function shutdownSignal(options: { signal?: AbortSignal | undefined } = {}): {
  signal: AbortSignal
  abort(reason: string): void
  /** Aborts with `duration elapsed` after `durationMs` (undefined: never). */
  runFor(durationMs: number | undefined): void
  dispose(): void
} {
  const controller = new AbortController()
  const caller = options.signal
  let count = 0
  const onSignal = (name: NodeJS.Signals) => {
    count += 1
    if (count > 1) process.exit(130)
    controller.abort(new Error(`received ${name}`))
  }
  // the caller's reason is the reason of the stop (e.g. in `peer start`'s `stopped` event)
  let off: (() => void) | undefined
  if (caller?.aborted === true) controller.abort(caller.reason)
  else if (caller !== undefined) off = whenAborted(caller, () => controller.abort(caller.reason))
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let timer: NodeJS.Timeout | undefined
  return {
    signal: controller.signal,
    abort(reason: string) {
      controller.abort(new Error(reason))
    },
    runFor(durationMs) {
      clearTimeout(timer)
      if (durationMs === undefined || controller.signal.aborted) return
      timer = setTimeout(() => controller.abort(new Error('duration elapsed')), durationMs)
    },
    dispose() {
      clearTimeout(timer)
      off?.()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** Resolves when `signal` aborts (immediately when it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => whenAborted(signal, resolve))
}

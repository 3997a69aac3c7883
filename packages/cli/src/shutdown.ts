/**
 * An `AbortSignal` aborted by the first SIGINT or SIGTERM, by `durationMs` elapsing (`--duration`),
 * or by the caller's `signal` (the `{ signal }` of a command function), so a long-running command
 * can stop cleanly. A second SIGINT/SIGTERM exits at once with status 130. `dispose()` removes the
 * handlers and the listener on the caller's signal.
 */
export function shutdownSignal(
  options: { durationMs?: number | undefined; signal?: AbortSignal | undefined } = {},
): {
  signal: AbortSignal
  abort(reason: string): void
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
  const onAbort = () => controller.abort(caller?.reason)
  if (caller?.aborted === true) onAbort()
  else caller?.addEventListener('abort', onAbort, { once: true })
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const timer =
    options.durationMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new Error('duration elapsed')), options.durationMs)
  return {
    signal: controller.signal,
    abort(reason: string) {
      controller.abort(new Error(reason))
    },
    dispose() {
      clearTimeout(timer)
      caller?.removeEventListener('abort', onAbort)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** Resolves when `signal` aborts (immediately when it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/**
 * An `AbortSignal` aborted by the first SIGINT or SIGTERM (or by `--duration` elapsing), so a
 * long-running command can stop cleanly. A second SIGINT/SIGTERM exits at once with status 130.
 * `dispose()` removes the handlers.
 */
export function shutdownSignal(options: { durationMs?: number | undefined } = {}): {
  signal: AbortSignal
  abort(reason: string): void
  dispose(): void
} {
  const controller = new AbortController()
  let count = 0
  const onSignal = (name: NodeJS.Signals) => {
    count += 1
    if (count > 1) process.exit(130)
    controller.abort(new Error(`received ${name}`))
  }
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

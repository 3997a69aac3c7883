// The process warnings a piece of code causes (Node.js emits a warning on the tick after its cause).

/**
 * Runs `fn` and returns every process warning emitted while it ran and on the tick after (e.g. a
 * `MaxListenersExceededWarning` from too many listeners on one event target). `fn`'s error is
 * rethrown; the handler is removed either way.
 */
export async function warningsDuring(fn: () => Promise<void> | void): Promise<Error[]> {
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  return warnings
}

/** The messages of `warnings` that are of kind `name`. */
export function warningsNamed(warnings: readonly Error[], name: string): string[] {
  return warnings.filter((w) => w.name === name).map((w) => w.message)
}

/** The messages of `warnings` whose `code` is `code` (e.g. `PEER_LOGGER_FAILED`). */
export function warningsCoded(warnings: readonly Error[], code: string): string[] {
  return warnings.filter((w) => (w as Error & { code?: string }).code === code).map((w) => w.message)
}

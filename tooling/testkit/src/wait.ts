// Small async helpers for tests: wait for an event or a condition, with a deadline.

/** Resolves with the next event of `type` on `target` (optionally matching `filter`), or rejects after `timeoutMs`. */
export function nextEvent<E extends Event = CustomEvent>(
  target: EventTarget,
  type: string,
  filter: (event: E) => boolean = () => true,
  timeoutMs = 5000,
): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, onEvent)
      reject(new Error(`no ${type} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const onEvent = (event: Event) => {
      if (!filter(event as E)) return
      clearTimeout(timer)
      target.removeEventListener(type, onEvent)
      resolve(event as E)
    }
    target.addEventListener(type, onEvent)
  })
}

/** Polls `check` every `intervalMs` until it returns a truthy value, or rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value as NonNullable<T>
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last })
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Records every event of the given types, for assertions on what was (not) emitted. */
export function recordEvents(target: EventTarget, types: string[]) {
  const events: Array<{ type: string; detail: unknown }> = []
  const listener = (event: Event) => events.push({ type: event.type, detail: (event as CustomEvent).detail })
  for (const t of types) target.addEventListener(t, listener)
  return {
    events,
    of: (type: string) => events.filter((e) => e.type === type),
    stop: () => {
      for (const t of types) target.removeEventListener(t, listener)
    },
  }
}

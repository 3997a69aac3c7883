import { callReporting, type TypedEventTarget } from './typed-event-target.js'

/** The event map of a {@link TypedEventTarget} (or of an interface extending one). */
export type EventsOf<T> = T extends { readonly '~events'?: infer Events }
  ? NonNullable<Events>
  : Record<string, Event>

/** Handlers by event name, for {@link subscribe}. */
export type EventHandlers<Events> = { [K in keyof Events]?: (event: Events[K]) => void }

/**
 * Adds one listener per entry of `handlers` to `target` and returns a function that removes them
 * all: the pattern every component uses to attach to another and detach on stop. With `onError`,
 * a handler that throws or, async, rejects (an event of an unexpected shape from a target you do
 * not control, e.g. a user's backend on a plain `EventTarget`, where a throwing listener is an
 * uncaught exception) is caught and passed to it with the event's type; an `onError` that throws
 * loses that report, nothing more.
 *
 * @example
 * ```ts
 * const off = subscribe(discovery, { 'peer:discovered': (e) => dial(e.detail.record) })
 * // later
 * off()
 * ```
 */
export function subscribe<T extends Pick<EventTarget, 'addEventListener' | 'removeEventListener'>>(
  target: T,
  handlers: EventHandlers<EventsOf<T>>,
  onError?: (error: unknown, type: string) => void,
): () => void {
  const entries = (Object.entries(handlers) as Array<[string, (event: Event) => void]>).map(
    ([type, handler]): [string, (event: Event) => void] => {
      if (onError === undefined) return [type, handler]
      const report = (error: unknown) => {
        try {
          onError(error, type)
        } catch {
          // the error hook itself must never throw into the dispatching target
        }
      }
      return [type, (event) => callReporting(handler, event, report)]
    },
  )
  for (const [type, handler] of entries) target.addEventListener(type, handler)
  return () => {
    for (const [type, handler] of entries) target.removeEventListener(type, handler)
  }
}

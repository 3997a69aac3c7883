// One listener per event target and type for many short waits or subscribers (a node's waitForPeer
// calls, its on-demand dials, registries sharing a trust list): each adds a callback to a set
// instead of a listener to the target.

/** The callbacks waiting for one event type of a target, and the one listener that calls them. */
interface EventWaits {
  readonly callbacks: Set<(event: Event) => void>
  readonly listener: (event: Event) => void
}

/** What {@link whenEvent} needs of a target: an `EventTarget`, or an object shaped like one. */
export interface ListenerTarget {
  addEventListener(type: string, listener: (event: Event) => void): void
  /** Without it, the one listener stays on the target once every wait ended (calling nothing). */
  removeEventListener?(type: string, listener: (event: Event) => void): void
}

const waiting = new WeakMap<ListenerTarget, Map<string, EventWaits>>()

/**
 * Calls `callback` with every `type` event of `target` until the function returned is called.
 * However many waits share a target and type, the target has one listener of ours, removed with
 * the last wait: a listener per wait made Node.js warn "Possible EventTarget memory leak detected"
 * past ten waits at once (e.g. `waitForPeer` for each of a dozen peers), though each was removed
 * when its wait ended. Callbacks run in the order they were added; one added while the event is
 * dispatched is called from the next event on, one removed before its turn is not called; one that
 * throws does not stop the rest (the first error is rethrown after them, as a listener's would be).
 * @internal
 */
export function whenEvent(
  target: ListenerTarget,
  type: string,
  callback: (event: Event) => void,
): () => void {
  let byType = waiting.get(target)
  if (byType === undefined) {
    byType = new Map()
    waiting.set(target, byType)
  }
  let waits = byType.get(type)
  if (waits === undefined) {
    const callbacks = new Set<(event: Event) => void>()
    const listener = (event: Event): void => {
      let failure: { error: unknown } | undefined
      for (const cb of [...callbacks]) {
        if (!callbacks.has(cb)) continue // removed by a callback before it
        try {
          cb(event)
        } catch (error) {
          failure ??= { error }
        }
      }
      if (failure !== undefined) throw failure.error
    }
    waits = { callbacks, listener }
    byType.set(type, waits)
    target.addEventListener(type, listener)
  }
  const { callbacks, listener } = waits
  const types = byType
  callbacks.add(callback)
  return () => {
    if (!callbacks.delete(callback) || callbacks.size > 0) return
    if (types.get(type)?.callbacks !== callbacks) return
    if (target.removeEventListener === undefined) return // the listener stays, and is reused
    types.delete(type)
    target.removeEventListener(type, listener)
  }
}

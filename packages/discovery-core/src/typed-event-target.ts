/**
 * Calls `fn(arg)`; a throw, or the rejection of a promise it returns (an async listener), goes to
 * `report` instead: never an uncaught exception or an unhandled rejection, which end the process
 * by default. The one way listeners and handlers are isolated ({@link TypedEventTarget},
 * `subscribe`). @internal
 */
export function callReporting<A>(fn: (arg: A) => unknown, arg: A, report: (error: unknown) => void): void {
  try {
    const result = fn(arg)
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')
      (result as PromiseLike<unknown>).then(undefined, report)
  } catch (error) {
    report(error)
  }
}

/** Listener for one event type of a {@link TypedEventTarget}. */
export type TypedListener<E extends Event> = ((event: E) => void) | { handleEvent(event: E): void }

/**
 * An `EventTarget` whose event names and payloads are typed by `Events` (event name to event
 * class, usually `CustomEvent<Detail>`).
 *
 * Listeners are isolated: in Node.js a listener that throws would otherwise become an uncaught
 * exception, and an async listener that rejects an unhandled rejection (both end the process by
 * default). Here the error is caught, counted in `listenerErrors` and passed to `onListenerError`,
 * and the remaining listeners still run.
 */
export class TypedEventTarget<Events extends { [K in keyof Events]: Event }> extends EventTarget {
  /** Type-level only (never set at run time): the event map, so helpers can infer it. */
  declare readonly '~events'?: Events
  /** How many times a listener threw (or, async, rejected). */
  listenerErrors = 0
  /** Called with every error a listener throws or rejects with; replace it to log. Must not throw. */
  onListenerError: (error: unknown, type: string) => void = () => {}

  // listener -> type -> wrapper, so removeEventListener finds the wrapper it registered
  readonly #wrappers = new WeakMap<object, Map<string, (event: Event) => void>>()

  #listenerFailed(error: unknown, type: string): void {
    this.listenerErrors++
    try {
      this.onListenerError(error, type)
    } catch {
      // the error hook itself must never break dispatch
    }
  }

  /**
   * Adds a listener for the event `type`, typed by the event map. A listener that throws, or
   * returns a promise that rejects, is isolated (counted in `listenerErrors`, passed to
   * `onListenerError`); a `null` listener is
   * ignored, and adding the same listener twice for a type adds it once, as `EventTarget` does.
   */
  override addEventListener<K extends keyof Events & string>(
    type: K,
    listener: TypedListener<Events[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void
  /** Adds a listener for any event type, untyped; a listener that throws is isolated all the same. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: TypedListener<Event> | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (listener === null) return
    let byType = this.#wrappers.get(listener)
    if (byType === undefined) {
      byType = new Map()
      this.#wrappers.set(listener, byType)
    }
    let wrapper = byType.get(type)
    if (wrapper === undefined) {
      const invoke =
        typeof listener === 'function'
          ? (event: Event) => listener.call(this, event)
          : (event: Event) => listener.handleEvent(event)
      const report = (error: unknown) => this.#listenerFailed(error, type)
      wrapper = (event: Event) => callReporting(invoke, event, report)
      byType.set(type, wrapper)
    }
    super.addEventListener(type, wrapper, options)
  }

  /** Removes a listener added with `addEventListener` for `type`; unknown listeners are ignored. */
  override removeEventListener<K extends keyof Events & string>(
    type: K,
    listener: TypedListener<Events[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void
  /** Removes a listener added for any event type (the untyped form of the call). */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: TypedListener<Event> | null,
    options?: boolean | EventListenerOptions,
  ): void {
    if (listener === null) return
    const wrapper = this.#wrappers.get(listener)?.get(type)
    if (wrapper !== undefined) super.removeEventListener(type, wrapper, options)
  }

  /** Dispatches a typed event. */
  override dispatchEvent(event: Events[keyof Events & string]): boolean {
    return super.dispatchEvent(event)
  }

  /** Dispatches `new CustomEvent(type, { detail })`. */
  protected emit<K extends keyof Events & string>(
    type: K,
    detail: Events[K] extends CustomEvent<infer D> ? D : never,
  ): void {
    super.dispatchEvent(new CustomEvent(type, { detail }))
  }
}

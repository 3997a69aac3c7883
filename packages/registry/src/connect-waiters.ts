// The callers of PeerRegistry.ensureConnected waiting for one peer's dial: they share it, and are
// settled together when it ends (adopted, failed, refused, forgotten).

interface Waiter<C> {
  resolve(connection: C): void
  reject(error: Error): void
}

/** Per-peer waiters of an on-demand dial. @internal */
export class ConnectWaiters<C> {
  readonly #waiting = new Map<string, Set<Waiter<C>>>()

  /** A promise settled by the next `resolve` or `reject` for `id`. */
  wait(id: string): { promise: Promise<C>; cancel(): void } {
    let waiter!: Waiter<C>
    const promise = new Promise<C>((resolve, reject) => {
      waiter = { resolve, reject }
    })
    let set = this.#waiting.get(id)
    if (set === undefined) {
      set = new Set()
      this.#waiting.set(id, set)
    }
    set.add(waiter)
    return {
      promise,
      cancel: () => {
        const current = this.#waiting.get(id)
        current?.delete(waiter)
        if (current?.size === 0) this.#waiting.delete(id)
      },
    }
  }

  resolve(id: string, connection: C): void {
    for (const w of this.#take(id)) w.resolve(connection)
  }

  reject(id: string, error: Error): void {
    for (const w of this.#take(id)) w.reject(error)
  }

  #take(id: string): Set<Waiter<C>> {
    const set = this.#waiting.get(id)
    this.#waiting.delete(id)
    return set ?? new Set()
  }
}

// The registry client the guide's example backend talks to. A real one speaks to your service
// registry over the network; this one keeps the registry in memory so that the example runs as it
// is (the kit's tests share one registry between several backends, as a real registry would).

/** A change the registry reports to watchers. */
export type RegistryChange = { type: 'put'; id: string; value: unknown } | { type: 'delete'; id: string }

/** Options of every client call. */
export interface CallOptions {
  signal?: AbortSignal | undefined
}

/** One registry (the medium) that several clients share. */
export class MyRegistry {
  readonly entries = new Map<string, unknown>()
  readonly watchers = new Set<(change: RegistryChange) => void>()

  write(change: RegistryChange): void {
    if (change.type === 'put') this.entries.set(change.id, change.value)
    else if (!this.entries.delete(change.id)) return
    for (const watcher of [...this.watchers]) watcher(change)
  }
}

/** A client of {@link MyRegistry}: what the example backend uses. */
export class MyRegistryClient {
  readonly #registry: MyRegistry

  constructor(registry: MyRegistry) {
    this.#registry = registry
  }

  async list(options: CallOptions = {}): Promise<unknown[]> {
    options.signal?.throwIfAborted()
    return [...this.#registry.entries.values()]
  }

  async put(id: string, value: unknown, options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    // stored as a copy, the way a network registry stores JSON
    this.#registry.write({ type: 'put', id, value: JSON.parse(JSON.stringify(value)) })
  }

  async delete(id: string, options: CallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.#registry.write({ type: 'delete', id })
  }

  /** Calls `onChange` for every later change; returns the function that stops watching. */
  watch(onChange: (change: RegistryChange) => void): () => void {
    this.#registry.watchers.add(onChange)
    return () => this.#registry.watchers.delete(onChange)
  }
}

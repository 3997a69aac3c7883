/**
 * A `Map` that holds at most `max` entries: `set` moves the key to the end (most recently written)
 * and, past the bound, drops the least recently written entries. For the caches and "last seen"
 * tables fed by the network or by churn (a plain `Map` there grows with every name ever seen).
 * Reads (`get`, `has`) do not refresh an entry. `max` is rounded down (at least 1);
 * `Infinity` means no bound (for options that allow it).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  /** The most entries kept. */
  readonly max: number

  constructor(max: number) {
    super()
    if (!(max > 0)) throw new RangeError(`BoundedMap max must be a number > 0, got ${max}`)
    this.max = Math.max(1, Math.floor(max))
  }

  override set(key: K, value: V): this {
    super.delete(key)
    super.set(key, value)
    if (this.size > this.max) {
      for (const oldest of this.keys()) {
        super.delete(oldest)
        if (this.size <= this.max) break
      }
    }
    return this
  }
}

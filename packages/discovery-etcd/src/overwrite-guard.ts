// Someone else overwrote this node's key (e.g. without our lease): it is put back, but at most once
// per period (the TTL), so that two writers misconfigured with one id do not fight in a hot loop.

/** Rate-limits the fixes of an overwritten key (explicit state: the last fix, one pending timer). */
export class OverwriteGuard {
  readonly #periodMs: number
  readonly #log: { warn(message: string, fields?: Record<string, unknown>): void }
  #lastFix = 0
  #timer: NodeJS.Timeout | undefined

  constructor(periodMs: number, log: { warn(message: string, fields?: Record<string, unknown>): void }) {
    this.#periodMs = periodMs
    this.#log = log
  }

  /**
   * Our key was overwritten: `fix(false)` at once when the last fix is a period ago, else
   * `fix(true)` once that period is over (at most one pending; further overwrites meanwhile wait).
   */
  overwritten(key: string, fix: (delayed: boolean) => void): void {
    const now = Date.now()
    if (now - this.#lastFix >= this.#periodMs) {
      this.#lastFix = now
      fix(false)
    } else if (this.#timer === undefined) {
      this.#log.warn('our key keeps being overwritten: is another node using our id?', { key })
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined
          this.#lastFix = Date.now()
          fix(true)
        },
        this.#periodMs - (now - this.#lastFix),
      )
    }
  }

  /** Drops a pending fix. */
  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

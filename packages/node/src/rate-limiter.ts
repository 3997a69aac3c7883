/**
 * A token bucket: `perSecond` tokens a second, at most `2 * perSecond` saved up (a burst).
 * @internal
 */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  #tokens: number
  #at = performance.now()

  constructor(perSecond: number) {
    this.#rate = perSecond
    this.#burst = perSecond * 2
    this.#tokens = this.#burst
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const now = performance.now()
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens--
    return true
  }
}

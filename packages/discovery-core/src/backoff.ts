/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  initialMs?: number
  /** Largest delay, ms. Default 30,000. */
  maxMs?: number
  /** Growth factor per attempt. Default 2. */
  factor?: number
  /**
   * Share of each delay that is random, 0-1: the delay is `base * (1 - jitter * random())`, so
   * jitter only shortens it and `maxMs` holds. Default 0.
   */
  jitter?: number
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number
}

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential from `initialMs`
 * by `factor`, capped at `maxMs`, shortened by up to `jitter`. NaN and negative attempts count as 0.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 500, maxMs = 30_000, factor = 2, jitter = 0, random = Math.random } = options
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.min(Math.floor(attempt), 60) : 0
  const base = Math.min(maxMs, initialMs * factor ** n)
  return Math.round(base * (1 - Math.min(1, Math.max(0, jitter)) * random()))
}

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 500. */
  initialDelay?: number
  /** Upper bound of any delay, in ms. Default 30,000. */
  maxDelay?: number
  /**
   * Share of the delay that is randomised: the delay is drawn uniformly from
   * `[base * (1 - jitter), base]`. Default 0.5; 0 disables jitter.
   */
  jitter?: number
  /** Random source in [0, 1). Default `Math.random`. */
  random?: () => number
}

/**
 * The delay before retry number `attempt` (0 for the first retry): `initialDelay` doubling with
 * every attempt up to `maxDelay`, with the top `jitter` share randomised so that many nodes that
 * lost the same peer at the same moment do not redial in lock step.
 *
 * With the defaults: attempt 0 waits 250-500 ms, attempt 1 500-1000 ms, ... and from attempt 6 on
 * 15-30 s.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelay ?? 500
  const max = options.maxDelay ?? 30_000
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5))
  const random = options.random ?? Math.random
  // NaN and negatives count as 0; anything past 2 ** 60 is capped long before
  const n = attempt > 0 ? Math.min(Math.floor(attempt), 60) : 0
  const base = Math.min(max, initial * 2 ** n)
  const r = random()
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0
  return Math.round(base * (1 - jitter * unit))
}

import { backoffDelay as coreBackoffDelay, renamedOption } from '@peer/discovery-core/internal'
import { RegistryConfigError } from './errors.js'

/** Options of {@link backoffDelay} (and `PeerRegistryOptions.backoff`). */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. Default 500. */
  initialDelayMs?: number
  /** Upper bound of any delay, in ms. Default 30,000. */
  maxDelayMs?: number
  /**
   * Share of the delay that is randomised: the delay is drawn uniformly from
   * `[base * (1 - jitter), base]`. Clamped to 0-1. Default 0.5; 0 disables jitter.
   */
  jitter?: number
  /** Random source in [0, 1) (values outside are clamped, NaN counts as 0). Default `Math.random`. */
  random?: () => number
  /**
   * Deprecated name of {@link BackoffOptions.initialDelayMs} (same unit), accepted for one minor
   * version with a one-time deprecation warning.
   * @deprecated Use `initialDelayMs`.
   */
  initialDelay?: number
  /**
   * Deprecated name of {@link BackoffOptions.maxDelayMs} (same unit), accepted for one minor
   * version with a one-time deprecation warning.
   * @deprecated Use `maxDelayMs`.
   */
  maxDelay?: number
}

/**
 * Reads `initialDelayMs` / `maxDelayMs` or their deprecated names (one-time warning per `owner`);
 * throws {@link RegistryConfigError} when both names are given with different values. @internal
 */
export function backoffDelays(
  options: BackoffOptions,
  owner: string,
): { initialDelayMs: unknown; maxDelayMs: unknown } {
  const renamed = (current: string, deprecated: string) =>
    renamedOption(options, { current, deprecated, owner, error: RegistryConfigError })
  return {
    initialDelayMs: renamed('initialDelayMs', 'initialDelay'),
    maxDelayMs: renamed('maxDelayMs', 'maxDelay'),
  }
}

/**
 * The delay before retry number `attempt` (0 for the first retry): `initialDelayMs` doubling with
 * every attempt up to `maxDelayMs`, with the top `jitter` share randomised so that many nodes that
 * lost the same peer at the same moment do not redial in lock step.
 *
 * With the defaults: attempt 0 waits 250-500 ms, attempt 1 500-1000 ms, ... and from attempt 6 on
 * 15-30 s.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialDelayMs, maxDelayMs } =
    options.initialDelay === undefined && options.maxDelay === undefined
      ? options
      : backoffDelays(options, 'backoffDelay')
  const random = options.random ?? Math.random
  // discovery-core's computation, with this package's defaults (half jitter) and its tolerance of
  // a random source that strays outside [0, 1) or returns NaN (clamped; NaN counts as 0), and of
  // an infinite attempt (the cap here; discovery-core counts every non-finite attempt as 0)
  return coreBackoffDelay(attempt === Number.POSITIVE_INFINITY ? 60 : attempt, {
    initialMs: (initialDelayMs as number | undefined) ?? 500,
    maxMs: (maxDelayMs as number | undefined) ?? 30_000,
    jitter: options.jitter ?? 0.5,
    random: () => {
      const r = random()
      return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0
    },
  })
}

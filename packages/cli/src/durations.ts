// Durations of the command functions' options: milliseconds with an `Ms` suffix (issue 16, item 6).
// The old names, which mirrored the flags (`duration` in seconds, `interval` in ms, ...), are
// accepted for one minor version through discovery-core's `renamedOption` (one-time warning).
import type { ConfigError } from '@peer/discovery-core'
import { numberOption, renamedOption, secondsToMs } from '@peer/discovery-core/internal'

/** A duration option renamed to the `Ms` convention. */
export interface RenamedDuration {
  /** The name now, e.g. `durationMs`. */
  current: string
  /** The old name, e.g. `duration`. */
  deprecated: string
  /** The old name was in seconds (converted to ms). Default: ms already. */
  seconds?: boolean
  /** The function that takes the option, for the warning and the error (e.g. `start`). */
  owner: string
  /** The `ConfigError` subclass thrown for a bad value. Default `ConfigError`. */
  error?: new (
    message: string,
    options: { option: string },
  ) => ConfigError
}

/**
 * The value of a duration option in ms: `current`, else the deprecated name (converted from
 * seconds when it was in seconds, with a one-time `DeprecationWarning`), else `fallback`. Throws
 * a `ConfigError` (of `@peer/discovery-core`, or `rename.error`; option `current`) for a value
 * that is not a number > 0, or when both names are given with different values.
 */
export function durationMs(options: object, rename: RenamedDuration, fallback: number): number
export function durationMs(options: object, rename: RenamedDuration): number | undefined
export function durationMs(options: object, rename: RenamedDuration, fallback?: number): number | undefined {
  const value = renamedOption(options, {
    current: rename.current,
    deprecated: rename.deprecated,
    owner: rename.owner,
    ...(rename.seconds === true ? { convert: secondsToMs } : {}),
    ...(rename.error === undefined ? {} : { error: rename.error }),
  })
  if (value === undefined) return fallback
  return numberOption(value, rename.current, 0, { min: 0, exclusiveMin: true }, rename.error)
}

/** Seconds (a `--duration <seconds>` flag) to ms; `undefined` stays undefined. */
export function secondsFlag(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : secondsToMs(seconds)
}

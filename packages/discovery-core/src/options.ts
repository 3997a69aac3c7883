// Option checking shared by every package: one error class (ConfigError), one rule for durations
// (milliseconds, `Ms` suffix), and deprecation aliases for renamed options.
import { describeValue } from './describe-value.js'
import { ConfigError } from './errors.js'

/** The longest a Node.js timer waits (about 24.8 days): longer delays fire after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** What a numeric option must satisfy. */
export interface NumberRule {
  /** Smallest allowed value (inclusive). Default: no lower bound. */
  min?: number
  /** Values must be greater than `min` rather than equal to it. */
  exclusiveMin?: boolean
  /** Largest allowed value (inclusive). Default: `Number.MAX_SAFE_INTEGER`. */
  max?: number
  /** Only whole numbers. */
  integer?: boolean
}

/**
 * Checks a numeric option, returning it or `fallback` when it is `undefined`. Throws a
 * {@link ConfigError} naming `option` for anything else (NaN, infinities, strings, out of range).
 * A duration (a name ending in `Ms`) is at most {@link MAX_TIMER_MS} unless `rule.max` says
 * otherwise: it ends up in a timer, and a longer one would fire after 1 ms, again and again.
 */
export function numberOption(
  value: unknown,
  option: string,
  fallback: number,
  rule: NumberRule = {},
  ErrorClass: new (message: string, options: { option: string }) => ConfigError = ConfigError,
): number {
  if (value === undefined) return fallback
  if (rule.max === undefined && option.endsWith('Ms')) rule = { ...rule, max: MAX_TIMER_MS }
  const max = rule.max ?? Number.MAX_SAFE_INTEGER
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
    value <= max
  if (!ok) throw new ErrorClass(`${option} must be ${describeRule(rule)}, got ${show(value)}`, { option })
  return value
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number'
  if (rule.min === undefined) return rule.max === undefined ? kind : `${kind} <= ${rule.max}`
  const low = rule.exclusiveMin ? `> ${rule.min}` : `>= ${rule.min}`
  return rule.max === undefined ? `${kind} ${low}` : `${kind} ${low} and <= ${rule.max}`
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeValue(value)
}

/** A renamed option: `current` is the name to use, `deprecated` the old one still accepted. */
export interface RenamedOption {
  /** The option's name now, e.g. `requestTimeoutMs`. */
  current: string
  /** The old name, accepted for one minor version, e.g. `requestTimeout`. */
  deprecated: string
  /** Converts an old value to the new unit (e.g. seconds to milliseconds). Default: unchanged. */
  convert?: (value: number) => number
  /** Who owns the option, for the warning (e.g. `EtcdDiscovery`). */
  owner: string
  /** The {@link ConfigError} subclass thrown when both names are given. Default `ConfigError`. */
  error?: new (
    message: string,
    options: { option: string },
  ) => ConfigError
}

const warned = new Set<string>()

/**
 * Reads an option that was renamed: the current name wins; the deprecated one still works (its
 * value converted to the new unit) and emits a one-time `DeprecationWarning` per owner and name
 * (`process.emitWarning`, so `--no-deprecation` silences it). Giving both with different values
 * is a {@link ConfigError}.
 */
export function renamedOption(options: object | undefined, rename: RenamedOption): unknown {
  if (options === undefined || options === null) return undefined
  const record = options as Record<string, unknown>
  const now = record[rename.current]
  const old = record[rename.deprecated]
  if (old === undefined) return now
  const converted = typeof old === 'number' && rename.convert ? rename.convert(old) : old
  if (typeof old === 'number' && !Number.isFinite(converted as number)) return Number.NaN
  if (now !== undefined && now !== converted) {
    const ErrorClass = rename.error ?? ConfigError
    throw new ErrorClass(
      `${rename.owner}: give ${rename.current} or the deprecated ${rename.deprecated}, not both`,
      { option: rename.current },
    )
  }
  warnDeprecated(
    `${rename.owner}: option \`${rename.deprecated}\` is deprecated; use \`${rename.current}\`` +
      (rename.convert ? ' (in milliseconds)' : ''),
    `${rename.owner}.${rename.deprecated}`,
  )
  return converted
}

/** Emits `message` as a `DeprecationWarning` once per `key` for the life of the process. */
export function warnDeprecated(message: string, key: string): void {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(message, { type: 'DeprecationWarning', code: 'PEER_DEPRECATED_OPTION' })
}

/** Seconds (as the old options took them) to milliseconds. */
export const secondsToMs = (seconds: number): number => seconds * 1000

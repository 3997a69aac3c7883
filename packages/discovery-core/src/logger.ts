import { errorMessage } from './errors.js'
import { escapeControlChars } from './text.js'

/**
 * A component logger. Every package takes a `LoggerFactory` (option `logger`) and, without one,
 * uses {@link defaultLogger}: silent, unless the `PEER_DEBUG` environment variable names the
 * component's namespace (`PEER_DEBUG=peer:*`, `PEER_DEBUG=peer:discovery:mdns`), as the `debug`
 * module does with `DEBUG`.
 */
export interface Logger {
  /** The debug-style namespace, e.g. `peer:discovery:mdns`. */
  readonly namespace: string
  /** Logs `message` at level `debug`, with optional structured `fields`. */
  debug(message: string, fields?: Record<string, unknown>): void
  /** Logs `message` at level `info`, with optional structured `fields`. */
  info(message: string, fields?: Record<string, unknown>): void
  /** Logs `message` at level `warn`, with optional structured `fields`. */
  warn(message: string, fields?: Record<string, unknown>): void
  /** Logs `message` at level `error`, with optional structured `fields`. */
  error(message: string, fields?: Record<string, unknown>): void
}

/** Creates the logger for one namespace, e.g. `factory('peer:discovery:static')`. */
export type LoggerFactory = (namespace: string) => Logger

/** Log levels from the most to the least verbose. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

const discard: Omit<Logger, 'namespace'> = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * The factory every package uses when given no `logger`: a logger whose namespace matches the
 * `PEER_DEBUG` environment variable (read when the logger is made; `DEBUG`-style patterns, e.g.
 * `peer:*`, `peer:discovery:*,-peer:discovery:dns`) prints every level, debug included, to stderr;
 * every other logger discards everything. Nothing to write in code: set the variable and run.
 */
export const defaultLogger: LoggerFactory = (namespace) => {
  const patterns = process.env.PEER_DEBUG
  if (patterns !== undefined && patterns !== '' && namespaceFilter(patterns)(namespace)) {
    return consoleLogger({ filter: patterns, level: 'debug', debug: '' })(namespace)
  }
  return { namespace, ...discard }
}

/**
 * The same factory as {@link defaultLogger} (silent unless `PEER_DEBUG` names the namespace).
 * @deprecated Use `defaultLogger`; this name stays for one minor version.
 */
export const silentLogger: LoggerFactory = defaultLogger

/**
 * The same logger, except that none of its methods can throw: logging is a side channel, and a
 * logger that fails (a `write` to a closed stream, a bug in a custom logger) must not break the
 * component that logs. Many log calls run inside socket, stream and timer callbacks, where a throw
 * would become an uncaught exception and end the process. The line is lost; the first failure of
 * the process is reported once as a process warning (code `PEER_LOGGER_FAILED`) naming the
 * namespace and the error, so a broken logger does not go unnoticed. Every component of the
 * `@peer/*` packages wraps its logger with it.
 */
export function safeLogger(logger: Logger): Logger {
  return guardedLogger(logger, logger.namespace)
}

function guardedLogger(logger: Logger, namespace: string): Logger {
  const guard =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      try {
        logger[level](message, fields)
      } catch (error) {
        loggerFailed(`the ${level} method of the logger for ${namespace} threw`, error)
      }
    }
  return { namespace, debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') }
}

let loggerFailureReported = false

/** One process warning for the first logger failure of the process; later ones lose their line. */
function loggerFailed(what: string, error?: unknown): void {
  if (loggerFailureReported) return
  loggerFailureReported = true
  const reason = error === undefined ? '' : ` (${errorMessage(error)})`
  try {
    process.emitWarning(`${what}${reason}; its lines are lost, later failures are not reported`, {
      code: 'PEER_LOGGER_FAILED',
    })
  } catch {
    // nothing left to report to
  }
}

/**
 * The logger a component logs with: `factory(namespace)` (the default factory without one),
 * wrapped with {@link safeLogger}. A factory that throws or returns something that is not a
 * logger does not fail the component: it gets the default logger for that namespace, and the
 * failure is reported as {@link safeLogger} reports a failing method. @internal
 */
export function componentLogger(factory: LoggerFactory | undefined, namespace: string): Logger {
  if (factory === undefined) return safeLogger(defaultLogger(namespace))
  let made: unknown
  try {
    made = factory(namespace)
  } catch (error) {
    loggerFailed(`the logger factory threw for ${namespace}`, error)
    return safeLogger(defaultLogger(namespace))
  }
  if (typeof made !== 'object' || made === null) {
    const got = made === undefined ? 'undefined' : made === null ? 'null' : typeof made
    loggerFailed(`the logger factory returned ${got} for ${namespace}, not a logger`)
    return safeLogger(defaultLogger(namespace))
  }
  return guardedLogger(made as Logger, namespace)
}

/**
 * The factory a component passes on to the parts it makes: each part's logger is a
 * {@link componentLogger}. @internal
 */
export function componentLoggerFactory(factory: LoggerFactory | undefined): LoggerFactory {
  return (namespace) => componentLogger(factory, namespace)
}

/** Options of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /**
   * Which namespaces to print, as `DEBUG` does: comma-separated patterns with `*` wildcards and
   * `-` exclusions (`peer:*,-peer:transport:*`). Default `peer:*`.
   */
  filter?: string
  /** The least severe level printed. Default `info`. */
  level?: LogLevel
  /**
   * Namespaces (same patterns) printed at every level, debug included, whatever `level` says.
   * Default: `process.env.PEER_DEBUG` (so `PEER_DEBUG=peer:discovery:*` adds the discovery debug
   * lines to a logger at `info`).
   */
  debug?: string
  /** Where lines go. Default: `process.stderr`. */
  write?: (line: string) => void
}

/** A factory that prints `time level namespace message {fields}` lines for matching namespaces. */
export function consoleLogger(options: ConsoleLoggerOptions = {}): LoggerFactory {
  const matches = namespaceFilter(options.filter ?? 'peer:*')
  const debugPatterns = options.debug ?? process.env.PEER_DEBUG ?? ''
  const debugging = namespaceFilter(debugPatterns)
  const level = LEVELS[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  return (namespace) => {
    const debugAll = debugging(namespace)
    const enabled = debugAll || matches(namespace)
    const min = debugAll ? LEVELS.debug : level
    const emit =
      (level: LogLevel) =>
      (message: string, fields?: Record<string, unknown>): void => {
        if (!enabled || LEVELS[level] < min) return
        const extra = fields === undefined ? '' : ` ${safeJson(fields)}`
        // one line, inert on a terminal: messages and fields carry text from files and the network
        const text = escapeControlChars(`${message}${extra}`)
        write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${namespace} ${text}`)
      }
    return { namespace, debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
  }
}

/** Compiles a `DEBUG`-style pattern list into a predicate over namespaces. */
export function namespaceFilter(patterns: string): (namespace: string) => boolean {
  const include: RegExp[] = []
  const exclude: RegExp[] = []
  for (const raw of patterns.split(/[\s,]+/)) {
    if (raw === '') continue
    const negative = raw.startsWith('-')
    const body = (negative ? raw.slice(1) : raw).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')
    ;(negative ? exclude : include).push(new RegExp(`^${body}$`))
  }
  return (ns) => !exclude.some((re) => re.test(ns)) && include.some((re) => re.test(ns))
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) =>
      v instanceof Error ? { name: v.name, message: v.message } : typeof v === 'bigint' ? v.toString() : v,
    )
  } catch {
    return '[unserializable]'
  }
}

/**
 * The method a component made without a `logger` option exposes so that what runs it can lend it
 * its own factory (`Discovery` lends its `logger` to its backends). @internal
 */
export const INHERIT_LOGGER: unique symbol = Symbol.for('peer.inheritLogger')

/**
 * A logger for `namespace` from `given`, or, without one, from the default factory until
 * `inherit(factory)` lends another (the first lent factory wins; a given one is never replaced).
 * The logger object stays the same, so parts that kept it follow the change; like every
 * {@link componentLogger}, it never throws. @internal
 */
export function inheritableLogger(
  namespace: string,
  given: LoggerFactory | undefined,
): { logger: Logger; inherit(factory: LoggerFactory): void } {
  let target = componentLogger(given, namespace)
  let lendable = given === undefined
  const logger: Logger = {
    namespace,
    debug: (message, fields) => target.debug(message, fields),
    info: (message, fields) => target.info(message, fields),
    warn: (message, fields) => target.warn(message, fields),
    error: (message, fields) => target.error(message, fields),
  }
  return {
    logger,
    inherit(factory) {
      if (!lendable) return
      lendable = false
      target = componentLogger(factory, namespace)
    },
  }
}

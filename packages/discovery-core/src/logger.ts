/**
 * A component logger. peer never writes to stdout or stderr on its own: every package takes a
 * `LoggerFactory` and is silent unless you pass one.
 */
export interface Logger {
  /** The debug-style namespace, e.g. `peer:discovery:mdns`. */
  readonly namespace: string
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** Creates the logger for one namespace, e.g. `factory('peer:discovery:static')`. */
export type LoggerFactory = (namespace: string) => Logger

/** Log levels from the most to the least verbose. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** The default factory: every logger it makes discards everything. */
export const silentLogger: LoggerFactory = (namespace) => ({
  namespace,
  debug() {},
  info() {},
  warn() {},
  error() {},
})

/**
 * The same logger, except that none of its methods can throw: logging is a side channel, and a
 * logger that fails (a `write` to a closed stream, a bug in a custom logger) must not break the
 * component that logs. Many log calls run inside socket, stream and timer callbacks, where a throw
 * would become an uncaught exception and end the process. Backends built on
 * `AbstractDiscoveryBackend` and `Discovery` wrap their logger with it.
 */
export function safeLogger(logger: Logger): Logger {
  const guard =
    (method: (message: string, fields?: Record<string, unknown>) => void) =>
    (message: string, fields?: Record<string, unknown>): void => {
      try {
        method.call(logger, message, fields)
      } catch {
        // a failing logger loses the line, nothing more
      }
    }
  return {
    namespace: logger.namespace,
    debug: guard(logger.debug),
    info: guard(logger.info),
    warn: guard(logger.warn),
    error: guard(logger.error),
  }
}

/** Options of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /**
   * Which namespaces to print, as `DEBUG` does: comma-separated patterns with `*` wildcards and
   * `-` exclusions (`peer:*,-peer:transport:*`). Default: `process.env.PEER_DEBUG ?? 'peer:*'`.
   */
  filter?: string
  /** The least severe level printed. Default `info`. */
  level?: LogLevel
  /** Where lines go. Default: `process.stderr`. */
  write?: (line: string) => void
}

/** A factory that prints `time level namespace message {fields}` lines for matching namespaces. */
export function consoleLogger(options: ConsoleLoggerOptions = {}): LoggerFactory {
  const matches = namespaceFilter(options.filter ?? process.env.PEER_DEBUG ?? 'peer:*')
  const min = LEVELS[options.level ?? 'info']
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  return (namespace) => {
    const enabled = matches(namespace)
    const emit =
      (level: LogLevel) =>
      (message: string, fields?: Record<string, unknown>): void => {
        if (!enabled || LEVELS[level] < min) return
        const extra = fields === undefined ? '' : ` ${safeJson(fields)}`
        write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${namespace} ${message}${extra}`)
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

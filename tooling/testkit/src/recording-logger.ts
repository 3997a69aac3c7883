// A LoggerFactory that keeps what is logged: for tests that check that a warning or a log line was
// (or was not) written, and under which namespace.
import type { LoggerFactory, LogLevel } from '@peer/discovery-core'

/** One call to a recorded logger. */
export interface LogRecord {
  readonly namespace: string
  readonly level: LogLevel
  readonly message: string
  readonly fields: Record<string, unknown> | undefined
}

/** A logger factory whose loggers append every call, in order, to `records`. */
export function recordingLogger(): { factory: LoggerFactory; records: LogRecord[] } {
  const records: LogRecord[] = []
  const factory: LoggerFactory = (namespace) => {
    const log = (level: LogRecord['level']) => (message: string, fields?: Record<string, unknown>) => {
      records.push({ namespace, level, message, fields })
    }
    return { namespace, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
  }
  return { factory, records }
}

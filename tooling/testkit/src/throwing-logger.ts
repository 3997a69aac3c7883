// A LoggerFactory whose every call throws: proves that a failing logger cannot break a component
// (log calls run inside socket, stream and timer callbacks, where a throw would end the process).
import type { LoggerFactory } from '@peer/discovery-core'

/** A logger factory whose loggers throw `Error(message)` from every method. */
export function throwingLogger(message = 'logger is broken'): LoggerFactory {
  const fail = (): never => {
    throw new Error(message)
  }
  return (namespace) => ({ namespace, debug: fail, info: fail, warn: fail, error: fail })
}

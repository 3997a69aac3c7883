/**
 * Internals of @peer/discovery-core: helpers shared by the `@peer/*` packages (option checking,
 * deprecation aliases, backoff, a serialising lock, atomic file writes, a seeded PRNG, error
 * messages, control characters, a bounded map) and names this package's tests use. Not part of
 * the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export {
  type LinkedSignal,
  linkSignals,
  type SettleWithinOptions,
  settleWithin,
  whenAborted,
  withTimeout,
} from './abort.js'
export { type AtomicWriteOptions, writeFileAtomic } from './atomic-file.js'
export { backendShapeProblems } from './backend-calls.js'
export { eventRecordId, VALIDATES_RECORDS } from './backend-events.js'
export { type BackoffOptions, backoffDelay } from './backoff.js'
export { BoundedMap } from './bounded-map.js'
export { describeValue, quote } from './describe-value.js'
export { errorMessage, toError } from './errors.js'
export { isLoopbackHostOrName } from './host.js'
export { componentLogger, componentLoggerFactory, INHERIT_LOGGER, inheritableLogger } from './logger.js'
export { nameMatch } from './node-name.js'
export { BACKEND_OPTION_KEYS, warnUnknownOptions } from './option-keys.js'
export {
  MAX_TIMER_MS,
  type NumberRule,
  numberOption,
  type RenamedOption,
  renamedOption,
  secondsToMs,
  warnDeprecated,
} from './options.js'
export { validateListedPeer } from './peer-record.js'
export { type RandomSource, seededRandom } from './random.js'
export { SerialLock } from './serial-lock.js'
export { type ListenerTarget, whenEvent } from './shared-listener.js'
export { escapeControlChars, hasControlChars, replaceControlChars } from './text.js'

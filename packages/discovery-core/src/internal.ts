/**
 * Helpers shared by the `@peer/*` packages (option checking, deprecation aliases, backoff, a
 * serialising lock, atomic file writes, a seeded PRNG). Importable as
 * `@peer/discovery-core/internal`; not part of the API a backend author needs.
 *
 * @packageDocumentation
 */
export { withTimeout } from './abort.js'
export { type AtomicWriteOptions, writeFileAtomic } from './atomic-file.js'
export { type BackoffOptions, backoffDelay } from './backoff.js'
export {
  type NumberRule,
  numberOption,
  type RenamedOption,
  renamedOption,
  secondsToMs,
  warnDeprecated,
} from './options.js'
export { type RandomSource, seededRandom } from './random.js'
export { SerialLock } from './serial-lock.js'

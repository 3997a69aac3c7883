/**
 * Helpers shared by the `@peer/*` packages (option checking, deprecation aliases, backoff, a
 * serialising lock, atomic file writes, TXT `key=value` parsing, a seeded PRNG). Importable as
 * `@peer/discovery-core/internal`; not part of the API a backend author needs.
 *
 * @packageDocumentation
 */
export { type AtomicWriteOptions, writeFileAtomic } from './atomic-file.js'
export {
  type NumberRule,
  numberOption,
  type RenamedOption,
  renamedOption,
  secondsToMs,
  warnDeprecated,
} from './options.js'

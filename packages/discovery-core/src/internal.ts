/**
 * Internals of @peer/discovery-core: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export { errorMessage } from './errors.js'

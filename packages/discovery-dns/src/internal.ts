/**
 * Internals of @peer/discovery-dns: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export { encodeQuery } from './dns-message.js'
export { hash32 } from './srv-order.js'

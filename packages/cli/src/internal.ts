/**
 * Internals of @peer/cli: names this package's tests and its sibling `@peer/*` packages use, which
 * are not part of the public API (no semver guarantee; they change or go without notice).
 * @internal
 * @packageDocumentation
 */
export { type CreateBackendOptions, createBackend } from './backends.js'
export { BrowseOnlyBackend } from './browse-only.js'
export {
  DEFAULT_LISTEN,
  defaultIdentityDir,
  formatPath,
  MAX_ADVERTISED_ADDRESSES,
  MAX_BACKENDS,
  MAX_CONFIG_BYTES,
  MAX_INLINE_PEERS,
  MAX_REPORTED_PROBLEMS,
  parseAddress,
  parseBackendConfig,
  parseJson,
  problemsOf,
  readConfigText,
} from './config.js'
export { demoCommand, MAX_TABLE_EVENTS } from './demo-command.js'
export { MAX_CHILD_LINE, MAX_STDERR_LINES } from './demo-types.js'
export { discoverBackends, discoverCommand, parsePeerSpec } from './discover-command.js'
export { MAX_FLAG_SECONDS, parseInteger, parseMillis, parseSeconds } from './flag-numbers.js'
export { idCommand } from './id-command.js'
export { keygenCommand } from './keygen-command.js'
export { type DemoTableOptions, demoStatsLine, renderDemoTable } from './live-table.js'
export { resolveNodeConfig } from './node-config.js'
export {
  configuredLogger,
  loadConfiguredIdentity,
  loadConfiguredTrust,
  reloadConfiguredTrust,
} from './node-setup.js'
export { formatAddresses, formatFields, Output, processIo, recordFields } from './output.js'
export { parsePingTarget, pingCommand } from './ping-command.js'
export { type PingServiceOptions, pingService } from './ping-service.js'
export { servicesCommand } from './services-command.js'
export { shutdownSignal, untilAborted } from './shutdown.js'
export { CHATTER_TOPIC, startCommand } from './start-command.js'
export { addNodeFlags } from './start-options.js'

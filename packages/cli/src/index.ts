/**
 * The `peer` command: `peer keygen`, `peer id`, `peer start`, `peer status`, `peer discover`,
 * `peer ping` and `peer demo`. The library exports are the pieces the command is built from, for
 * embedding and testing: {@link runCli}, {@link createProgram}, each command as a function, the configuration
 * schema and loader ({@link parseConfig}, {@link loadConfigFile}), {@link startConfiguredNode},
 * the demo supervisor {@link DemoCluster}, the control socket of `peer status` ({@link serveStatus},
 * {@link readStatus}) and the error classes.
 *
 * @packageDocumentation
 */

export { type CreateBackendOptions, createBackend } from './backends.js'
export { BrowseOnlyBackend } from './browse-only.js'
export {
  BACKENDS,
  type BackendConfig,
  type BackendName,
  type ConfigInput,
  type ConfigSource,
  configSchema,
  DEFAULT_LISTEN,
  defaultIdentityDir,
  formatPath,
  loadConfigFile,
  MAX_ADVERTISED_ADDRESSES,
  MAX_BACKENDS,
  MAX_CONFIG_BYTES,
  MAX_INLINE_PEERS,
  MAX_REPORTED_PROBLEMS,
  type PeerConfig,
  parseAddress,
  parseBackendConfig,
  parseConfig,
  parseJson,
  problemsOf,
  readConfigText,
} from './config.js'
export {
  CONTROL_REQUEST_TIMEOUT_MS,
  ControlClient,
  type ControlClientOptions,
  MAX_REPLY_BYTES,
  NodeGoneError,
} from './control-client.js'
export {
  CONTROL_IDLE_MS,
  CONTROL_METHODS,
  CONTROL_PROTOCOL_VERSION,
  type ControlErrorName,
  type ControlMethod,
  type ControlReply,
  type ControlRequest,
  MAX_CONTROL_CLIENTS,
  MAX_PENDING_REPLY_BYTES,
  MAX_REQUEST_BYTES,
  parseControlRequest,
} from './control-protocol.js'
export {
  CONTROL_SOCKET_NAME,
  type ControlHandler,
  ControlServer,
  type ControlServerOptions,
  defaultControlPath,
  MAX_SOCKET_PATH_BYTES,
} from './control-server.js'
export {
  DemoCluster,
  type DemoClusterOptions,
  type DemoEventDetail,
  type DemoEvents,
  type DemoLink,
  type DemoNodeState,
  MAX_CHILD_LINE,
  MAX_DEMO_NODES,
  MAX_STDERR_LINES,
} from './demo-cluster.js'
export { type DemoOptions, demo, demoCommand, MAX_TABLE_EVENTS } from './demo-command.js'
export {
  type DiscoverOptions,
  discover,
  discoverBackends,
  discoverCommand,
  parsePeerSpec,
  parseSeconds,
} from './discover-command.js'
export { CliError, ConfigError, type ConfigProblem, UsageError } from './errors.js'
export { type IdOptions, idCommand, printId } from './id-command.js'
export { type KeygenOptions, keygen, keygenCommand } from './keygen-command.js'
export { type DemoTableOptions, demoStatsLine, renderDemoTable } from './live-table.js'
export {
  type ConfiguredNode,
  configuredLogger,
  loadConfiguredIdentity,
  loadConfiguredTrust,
  reloadConfiguredTrust,
  startConfiguredNode,
} from './node-setup.js'
export { type CliIo, formatAddresses, formatFields, Output, processIo, recordFields } from './output.js'
export { type PingOptions, type PingTarget, parsePingTarget, ping, pingCommand } from './ping-command.js'
export { createProgram, runCli, VERSION } from './program.js'
export { readStatus, serveStatus } from './serve-status.js'
export { shutdownSignal, untilAborted } from './shutdown.js'
export {
  addNodeFlags,
  CHATTER_TOPIC,
  type NodeFlags,
  parseMillis,
  resolveNodeConfig,
  type StartOptions,
  start,
  startCommand,
} from './start-command.js'
export { controlPathOf, renderStatus, type StatusOptions, status, statusCommand } from './status-command.js'
export {
  type StatusAddress,
  type StatusBackend,
  type StatusPeer,
  type StatusSnapshot,
  statusSnapshot,
} from './status-snapshot.js'

/**
 * The `peer` command: `peer keygen`, `peer id`, `peer start`, `peer status`, `peer services`,
 * `peer discover`, `peer ping` and `peer demo`. The library exports are the pieces the command is
 * built from, for embedding and testing: {@link runCli}, {@link createProgram}, each command as a
 * function, the configuration schema and loader ({@link parseConfig}, {@link loadConfigFile}),
 * {@link startConfiguredNode}, the demo supervisor {@link DemoCluster}, the control socket of
 * `peer status` ({@link serveStatus}, {@link readStatus}) and the error classes.
 *
 * @packageDocumentation
 */

export {
  BACKENDS,
  type BackendConfig,
  type BackendName,
  backend as backendSchema,
  type ConfigInput,
  type ConfigSource,
  configSchema,
  loadConfigFile,
  type PeerConfig,
  parseConfig,
} from './config.js'
export {
  CONTROL_REQUEST_TIMEOUT_MS,
  ControlClient,
  type ControlClientOptions,
  ControlRefusedError,
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
export type { DemoCloseOptions } from './demo-close.js'
export { DemoCluster } from './demo-cluster.js'
export { DEMO_SERVICE, type DemoOptions, demo, demoServices } from './demo-command.js'
export {
  DEFAULT_DEMO_NODES,
  type DemoClusterOptions,
  DemoConfigError,
  type DemoEventDetail,
  type DemoEvents,
  type DemoLink,
  type DemoNodeState,
  MAX_DEMO_NODES,
} from './demo-types.js'
export { type DiscoverOptions, discover } from './discover-command.js'
export { CliError, ConfigError, type ConfigProblem, UsageError } from './errors.js'
export { type IdOptions, printId } from './id-command.js'
export { type KeygenOptions, keygen } from './keygen-command.js'
export { type ConfiguredNode, startConfiguredNode } from './node-setup.js'
export type { CliIo } from './output.js'
export { type PingOptions, type PingTarget, ping, SERVICE_TARGET_PREFIX } from './ping-command.js'
export { createProgram, runCli, VERSION } from './program.js'
export { readServices, readStatus, serveStatus } from './serve-status.js'
export { renderServices, type ServicesOptions, services } from './services-command.js'
export {
  type ServiceEntry,
  type ServiceProviderInfo,
  type ServicesSnapshot,
  servicesSnapshot,
} from './services-snapshot.js'
export { start } from './start-command.js'
export type { NodeFlags, StartOptions } from './start-options.js'
export { renderStatus, type StatusOptions, status } from './status-command.js'
export {
  type StatusAddress,
  type StatusBackend,
  type StatusPeer,
  type StatusSnapshot,
  statusSnapshot,
} from './status-snapshot.js'

/**
 * The `peer` command: `peer keygen`, `peer id`, `peer start`, `peer discover`, `peer ping` and
 * `peer demo`. The library exports are the pieces the command is built from, for embedding and
 * testing: {@link runCli}, {@link createProgram}, each command as a function, the configuration
 * schema and loader ({@link parseConfig}, {@link loadConfigFile}), {@link startConfiguredNode},
 * the demo supervisor {@link DemoCluster} and the error classes.
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
  DemoCluster,
  type DemoClusterOptions,
  type DemoEventDetail,
  type DemoEvents,
  type DemoLink,
  type DemoNodeState,
  MAX_DEMO_NODES,
} from './demo-cluster.js'
export { type DemoOptions, demo } from './demo-command.js'
export { type DiscoverOptions, discover } from './discover-command.js'
export { CliError, ConfigError, type ConfigProblem, UsageError } from './errors.js'
export { type IdOptions, printId } from './id-command.js'
export { type KeygenOptions, keygen } from './keygen-command.js'
export { type ConfiguredNode, startConfiguredNode } from './node-setup.js'
export type { CliIo } from './output.js'
export { type PingOptions, type PingTarget, ping } from './ping-command.js'
export { createProgram, runCli, VERSION } from './program.js'
export { type NodeFlags, type StartOptions, start } from './start-command.js'

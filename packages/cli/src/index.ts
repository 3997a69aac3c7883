/**
 * The `peer` command: `peer keygen`, `peer id`, `peer start`, `peer discover`, `peer ping` and
 * `peer demo`. The library exports are the pieces the command is built from, for embedding and
 * testing: {@link runCli}, {@link createProgram}, the configuration schema and loader
 * ({@link parseConfig}, {@link loadConfigFile}) and the error classes.
 *
 * @packageDocumentation
 */
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
export { CliError, ConfigError, type ConfigProblem, UsageError } from './errors.js'
export { type IdOptions, idCommand, printId } from './id-command.js'
export { type KeygenOptions, keygen, keygenCommand } from './keygen-command.js'
export { type CliIo, formatAddresses, formatFields, Output, processIo, recordFields } from './output.js'
export { createProgram, runCli, VERSION } from './program.js'
export { shutdownSignal, untilAborted } from './shutdown.js'

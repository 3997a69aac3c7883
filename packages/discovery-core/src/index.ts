/**
 * The peer discovery behaviour.
 *
 * - Node names (`name@host`, `port@ip`) and node ids: parse, format, validate.
 * - `PeerRecord` and its validator for records read from the network.
 * - `DiscoveryBackend`: the contract every backend implements, and `AbstractDiscoveryBackend`,
 *   a base class that makes the contract's rules hold.
 * - `Discovery`: runs several backends as one, with provenance and hysteresis.
 * - Named errors, `AbortError` handling helpers, typed events and a silent-by-default logger.
 *
 * No run-time dependencies.
 *
 * @packageDocumentation
 */
export { type AbortOptions, abortErrorFor, delay, raceSignal, throwIfAborted } from './abort.js'
export { AbstractDiscoveryBackend, type BackendOptions } from './abstract-discovery-backend.js'
export { AbstractAnnouncingBackend, type AnnounceContext } from './announcing-discovery-backend.js'
export type { BackendErrorInfo } from './backend-health.js'
export {
  type AggregateStats,
  Discovery,
  type DiscoveryOptions,
  type MergedPeerRecord,
} from './discovery.js'
export type {
  DiscoveryBackend,
  DiscoveryCapability,
  DiscoveryErrorDetail,
  DiscoveryEvents,
  DiscoveryStats,
  PeerDiscoveredDetail,
  PeerLostDetail,
  PeerLostReason,
} from './discovery-backend.js'
export {
  AbortError,
  AllBackendsFailedError,
  ConfigError,
  InvalidNodeIdError,
  InvalidNodeNameError,
  InvalidPeerRecordError,
  NotStartedError,
  PeerError,
  UnsupportedOperationError,
} from './errors.js'
export {
  formatHostPort,
  hostProblem,
  ipFamily,
  isLoopbackHost,
  isValidHost,
  isValidPort,
  isWildcardHost,
  MAX_HOSTNAME_LENGTH,
  undialableHostProblem,
} from './host.js'
export {
  type ConsoleLoggerOptions,
  consoleLogger,
  defaultLogger,
  type Logger,
  type LoggerFactory,
  type LogLevel,
  namespaceFilter,
  safeLogger,
  silentLogger,
} from './logger.js'
export { assertNodeId, encodeBase32, isNodeId, NODE_ID_LENGTH, shortId } from './node-id.js'
export {
  formatNodeName,
  isNodeName,
  MAX_NODE_NAME_LENGTH,
  type NodeName,
  parseNodeName,
} from './node-name.js'
export {
  DEFAULT_RECORD_LIMITS,
  type LocalPeer,
  type PeerAddress,
  type PeerRecord,
  type PeerRecordLimits,
  parsePeerRecord,
  sameRecord,
  validateLocalPeer,
  validatePeerRecord,
} from './peer-record.js'
export {
  assertServiceName,
  type CheckedServiceMeta,
  checkServiceMeta,
  type DecodedServiceList,
  decodeServiceList,
  encodeServiceList,
  InvalidServiceNameError,
  isServiceName,
  MAX_SERVICE_LIST_LENGTH,
  MAX_SERVICE_NAME_LENGTH,
  MAX_SERVICES,
  SERVICES_META_KEY,
  ServiceListTooLargeError,
  servicesOf,
} from './service-list.js'
export { type EventHandlers, type EventsOf, subscribe } from './subscribe.js'
export { TypedEventTarget, type TypedListener } from './typed-event-target.js'

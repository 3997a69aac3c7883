/**
 * Registries for peer.
 *
 * - `ServerRegistry`: named servers, as Erlang quic's `quic_server_registry`: register, look up,
 *   list, resolve port 0 to the bound port, list connections, update the port, and drop an entry
 *   by itself when its server closes (only while it is still the registered instance).
 * - `PeerRegistry`: trusted peers, as Elixir PeerNet's `Registry`: consumes discovery events,
 *   rejects untrusted ids, dials trusted ones with bounded concurrency and a timeout, redials with
 *   jittered exponential backoff, resolves simultaneous dials the same way on both sides, and
 *   applies trust changes live.
 *
 * Both work against small structural interfaces (`ServerLike`, `RegistryTransport`,
 * `RegistryConnection`, `TrustStore`, `PeerSource`) that `@peer/transport-quic`,
 * `@peer/identity` and `@peer/discovery-core` meet.
 *
 * @packageDocumentation
 */
export { type BackoffOptions, backoffDelay } from './backoff.js'
export {
  ConnectionCapError,
  DialTimeoutError,
  DuplicateServerNameError,
  InvalidPortError,
  InvalidServerError,
  InvalidServerNameError,
  NotAMemberError,
  PeerIdMismatchError,
  PortUnavailableError,
  RegistryConfigError,
  RegistryError,
  RegistryFullError,
  ServerNotFoundError,
} from './errors.js'
export type {
  ConnectionDirection,
  PeerSource,
  RegistryConnection,
  RegistryDialOptions,
  RegistryTransport,
  TrustStore,
} from './interfaces.js'
export type {
  DisconnectReason,
  PeerConnectedDetail,
  PeerConnectionReplacedDetail,
  PeerDialFailedDetail,
  PeerDisconnectedDetail,
  PeerMemberDetail,
  PeerMemberLostDetail,
  PeerRegistryEvents,
  PeerRegistryStats,
  PeerRejectedDetail,
} from './peer-events.js'
export { PeerRegistry } from './peer-registry.js'
export type {
  ConnectPolicy,
  EnsureConnectedOptions,
  PeerRegistryOptions,
  RegistryStartOptions,
  RegistryStopOptions,
} from './peer-registry-options.js'
export type { PeerAddressStatus, PeerState, PeerStatus } from './peer-status.js'
export type { ServicePublisher } from './server-publisher.js'
export {
  type ConnectionOf,
  MAX_SERVER_NAME_LENGTH,
  type RegisterOptions,
  type ServerAddressValue,
  type ServerEntry,
  type ServerLike,
  ServerRegistry,
  type ServerRegistryEvents,
  type ServerRegistryOptions,
  type ServerRegistryStats,
  type ServerRemovedReason,
} from './server-registry.js'

import { ConfigError, PeerError } from '@peer/discovery-core'

/**
 * A request to etcd failed (unreachable, timed out, rejected). The backend keeps running and
 * retries; the etcd3 client's error is kept as `cause`. `operation` says what was attempted:
 * `announce`, `refresh`, `resync`, `check`, `watch`, `lease`, `sync` (a failure of the background
 * loop that keeps the mirror and the announcement current, outside those steps) or `request` (a
 * request made after the backend stopped, usually found as the `cause` of one of the others).
 * `withdraw()` raises none: a lease revoke that fails is logged, and the key expires with its lease.
 */
export class EtcdDiscoveryError extends PeerError {
  /**
   * What was being attempted: `announce`, `refresh`, `resync`, `check`, `watch`, `lease`, `sync` or
   * `request` (see above); the message starts with it (`etcd <operation>: ...`).
   */
  readonly operation: string
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(`etcd ${operation}: ${message}`, options)
    this.operation = operation
  }
}

/**
 * The options given to `EtcdDiscovery` are invalid (e.g. no endpoints, a TTL below 1 s): the
 * `<Package>ConfigError` of this package, as `DnsConfigError`, `MdnsConfigError`, ...
 */
export class EtcdConfigError extends ConfigError {}

/**
 * The same class as {@link EtcdConfigError} (its `name` is `EtcdConfigError`).
 * @deprecated Use `EtcdConfigError`; this name stays for one minor version.
 */
export const InvalidEtcdOptionsError = EtcdConfigError
/**
 * The type of {@link EtcdConfigError}, under its old name.
 * @deprecated Use `EtcdConfigError`.
 */
export type InvalidEtcdOptionsError = EtcdConfigError

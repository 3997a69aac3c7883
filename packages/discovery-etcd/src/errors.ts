import { ConfigError, PeerError } from '@peer/discovery-core'

/**
 * A request to etcd failed (unreachable, timed out, rejected). The backend keeps running and
 * retries; the etcd3 client's error is kept as `cause`. `operation` says what was attempted
 * (`resync`, `announce`, `withdraw`, `check`, `refresh`, `watch`, `lease`).
 */
export class EtcdDiscoveryError extends PeerError {
  /**
   * What was being attempted, e.g. `announce`, `refresh`, `resync`, `check`, `watch` or `lease`; the
   * message starts with it (`etcd <operation>: ...`).
   */
  readonly operation: string
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(`etcd ${operation}: ${message}`, options)
    this.operation = operation
  }
}

/** The options given to `EtcdDiscovery` are invalid (e.g. no endpoints, a TTL below 1 s). */
export class InvalidEtcdOptionsError extends ConfigError {}

import { ConfigError, PeerError } from '@peer/discovery-core'

/**
 * Base class of every error class of `@peer/registry` (except {@link RegistryConfigError}). Calls
 * also throw errors of other packages: `InvalidNodeIdError`, `ServiceListTooLargeError`, `AbortError`.
 */
export class RegistryError extends PeerError {}

/**
 * An option of `PeerRegistry` or `ServerRegistry` is invalid (a non-positive `maxPeers`, a NaN
 * `dialTimeoutMs`, a `transport` without `dial`, both a renamed option and its deprecated name
 * with different values). A `ConfigError` from `@peer/discovery-core`, like every package's option
 * errors; `option` names the offending option (e.g. `backoff.initialDelayMs`).
 */
export class RegistryConfigError extends ConfigError {}

/**
 * `ServerRegistry.register` was given something that is not a server: not an object, or an
 * object whose closing cannot be observed (no `closed` promise and no `close` event, see
 * `ServerLike`). An argument error, not an option error, so not a {@link RegistryConfigError}.
 */
export class InvalidServerError extends RegistryError {}

/** `register` was called with a name that is already registered. */
export class DuplicateServerNameError extends RegistryError {
  /** The name that is taken. */
  readonly serverName: string
  constructor(name: string) {
    super(`a server named ${JSON.stringify(name)} is already registered`)
    this.serverName = name
  }
}

/** No server is registered under the name. */
export class ServerNotFoundError extends RegistryError {
  /** The name that was looked up. */
  readonly serverName: string
  constructor(name: string) {
    super(`no server named ${JSON.stringify(name)} is registered`)
    this.serverName = name
  }
}

/** The server is registered but has no bound port yet (it reports port 0 or nothing). */
export class PortUnavailableError extends RegistryError {}

/** A bounded map of the registry is full; the entry was not added. */
export class RegistryFullError extends RegistryError {
  /** The limit that was hit. */
  readonly limit: number
  constructor(what: string, limit: number) {
    super(`${what} is full (limit ${limit})`)
    this.limit = limit
  }
}

/** A dial succeeded but the remote presented another node id than the one pinned. */
export class PeerIdMismatchError extends RegistryError {
  /** The id the dial expected. */
  readonly expectedId: string
  /** The id the remote presented. */
  readonly actualId: string
  constructor(expectedId: string, actualId: string) {
    super(`dialed ${expectedId} but the remote is ${actualId}`)
    this.expectedId = expectedId
    this.actualId = actualId
  }
}

/**
 * A dial did not complete within the registry's dial timeout, or `ensureConnected` got no
 * connection within its `timeoutMs`.
 */
export class DialTimeoutError extends RegistryError {}

/**
 * A server name is empty, too long, not a string or contains control characters; or, with the
 * `publish` option, it is not a valid service name.
 */
export class InvalidServerNameError extends RegistryError {}

/** A port is not an integer in 1-65535. */
export class InvalidPortError extends RegistryError {}

/**
 * A new connection would exceed `maxConnections` and `evictIdle` named no open connection to close
 * for it (none was idle, or there is no `evictIdle`).
 */
export class ConnectionCapError extends RegistryError {
  /** The cap that was reached. */
  readonly limit: number
  constructor(limit: number) {
    super(`connection cap reached (${limit})`)
    this.limit = limit
  }
}

/** `ensureConnected` was asked for an id that is not a member (not discovered and trusted, or no address). */
export class NotAMemberError extends RegistryError {}

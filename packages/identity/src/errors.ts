import { ConfigError, PeerError } from '@peer/discovery-core'

/** Base class of every error thrown by `@peer/identity` (except {@link IdentityConfigError}). */
export class IdentityError extends PeerError {}

/**
 * An option is invalid (an unsupported `keyType`, a non-positive `validityDays`, a negative
 * `maxEntries`). A `ConfigError` from `@peer/discovery-core`, like every package's option errors.
 */
export class IdentityConfigError extends ConfigError {}

/**
 * A key or certificate file could not be used: missing, unreadable, empty, truncated, corrupt or
 * of an unsupported type. `path` names the file; the underlying error is kept as `cause`.
 */
export class KeyFileError extends IdentityError {
  /** The offending file. */
  readonly path: string
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options)
    this.path = path
  }
}

/** A private key file is readable or writable by the group or by others (its mode is shown). */
export class InsecureKeyFileError extends KeyFileError {
  /** The file's permission bits, e.g. `0o644`. */
  readonly mode: number
  constructor(path: string, mode: number) {
    super(
      path,
      `private key file is accessible by group or others (mode 0${(mode & 0o777).toString(8)}); ` +
        `restrict it with \`chmod 600 ${path}\``,
    )
    this.mode = mode & 0o777
  }
}

/** A certificate does not belong to the private key it was loaded with. */
export class IdentityMismatchError extends IdentityError {
  /** Node id derived from the private key. */
  readonly keyId: string
  /** Node id derived from the certificate's public key. */
  readonly certificateId: string
  constructor(message: string, keyId: string, certificateId: string) {
    super(`${message} (key id ${keyId}, certificate id ${certificateId})`)
    this.keyId = keyId
    this.certificateId = certificateId
  }
}

/** A trust list file is missing, unreadable, too large or malformed; `path` and `field` say where. */
export class TrustListFileError extends IdentityError {
  /** The trust list file. */
  readonly path: string
  /** The offending field, e.g. `peers[3].id`, or `''` for the file as a whole. */
  readonly field: string
  constructor(path: string, field: string, reason: string, options?: ErrorOptions) {
    super(`trust list ${path}: ${field ? `${field}: ` : ''}${reason}`, options)
    this.path = path
    this.field = field
  }
}

/** A trust list is full (see `maxEntries`). */
export class TrustListFullError extends IdentityError {}

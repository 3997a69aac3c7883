import { ConfigError } from '@peer/discovery-core'

/** A static peer list (file, environment variable or option) is malformed; `where` says which and `path` which entry. */
export class StaticConfigError extends ConfigError {
  readonly where: string
  constructor(where: string, reason: string, options?: ErrorOptions) {
    super(`${where}: ${reason}`, options)
    this.where = where
  }
}

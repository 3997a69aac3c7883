import { ConfigError } from '@peer/discovery-core'

/**
 * A static peer list (file, environment variable or option) is malformed: `where` says which list,
 * and the message names the bad entry (`peers[2].id`).
 */
export class StaticConfigError extends ConfigError {
  /**
   * Which list is malformed: `options.peers`, `add()`, `file <path>`, `environment variable <name>`,
   * or `options` for a bad constructor option. The message names the bad entry (`peers[2].id`).
   */
  readonly where: string
  constructor(where: string, reason: string, options?: ErrorOptions & { option?: string }) {
    super(`${where}: ${reason}`, options)
    this.where = where
  }
}

/** A {@link StaticConfigError} for a bad constructor option (`where` is `options`). @internal */
export class StaticOptionError extends StaticConfigError {
  constructor(message: string, options: { option: string }) {
    super('options', message, options)
  }
}

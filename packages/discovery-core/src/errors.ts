import { quote } from './describe-value.js'
import { escapeControlChars } from './text.js'

/**
 * Base class of every error thrown by peer packages: `name` is the class name, `cause` is kept.
 * `code` is reserved for codes that come from the wire (DNS rcode, gRPC status, QUIC error code).
 * The message holds no control character but line breaks: input it quotes (a value from the
 * network, a file's text in a parser's own message) reads as `\u` escapes in logs and terminals.
 */
export class PeerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(
      typeof message === 'string' ? escapeControlChars(message, { keepLineBreaks: true }) : message,
      options,
    )
    this.name = new.target.name
  }
}

/**
 * Thrown (or used to reject) when an operation is aborted through its `signal`. Its `name` is
 * `AbortError`, as callers of `fetch` and `node:timers/promises` expect; the signal's reason is
 * kept as `cause`.
 */
export class AbortError extends PeerError {
  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options)
    this.name = 'AbortError'
  }
}

/**
 * An option or configuration value is invalid. Every package throws this class (or a subclass
 * such as `DnsConfigError`) for bad options, never a bare `TypeError` / `RangeError`. `option`
 * names the offending option path (e.g. `keepAliveIntervalMs`) when one is known.
 */
export class ConfigError extends PeerError {
  /** The offending option path (e.g. `keepAliveIntervalMs`), or `undefined` when none is known. */
  readonly option: string | undefined
  constructor(message: string, options?: ErrorOptions & { option?: string }) {
    super(message, options)
    this.option = options?.option
  }
}

/** A node name (`name@host` or `port@ip`) could not be parsed. */
export class InvalidNodeNameError extends PeerError {
  /** The rejected input, truncated to 100 characters. */
  readonly input: string
  constructor(input: string, reason: string) {
    const shown = input.length > 100 ? `${input.slice(0, 100)}...` : input
    super(`invalid node name ${quote(shown)}: ${reason}`)
    this.input = shown
  }
}

/** A node id is not 52 characters of lowercase base32 (SHA-256 of the public key). */
export class InvalidNodeIdError extends PeerError {}

/** A peer record failed validation; `path` names the offending field (e.g. `addresses[1].port`). */
export class InvalidPeerRecordError extends PeerError {
  /**
   * The offending field (e.g. `addresses[1].port`, `meta.version`), or `''` for the input as a
   * whole; control characters of a key in it read as `\u` escapes.
   */
  readonly path: string
  constructor(path: string, reason: string, options?: ErrorOptions) {
    // a path names keys from the record (`meta.<key>`): its control characters read as escapes
    const shown = escapeControlChars(path)
    super(`invalid peer record: ${shown ? `${shown}: ` : ''}${reason}`, options)
    this.path = shown
  }
}

/** An operation needs a started backend (or aggregate) and it is not started. */
export class NotStartedError extends PeerError {}

/** The backend does not implement the operation (see its `capabilities`). */
export class UnsupportedOperationError extends PeerError {}

/** Every backend of an aggregate `Discovery` failed an operation; `errors` holds each failure. */
export class AllBackendsFailedError extends PeerError {
  /** Each backend's failure with its `source`, in backend priority order; the first is also `cause`. */
  readonly errors: ReadonlyArray<{ source: string; error: unknown }>
  constructor(operation: string, errors: ReadonlyArray<{ source: string; error: unknown }>) {
    const detail = errors.map((e) => `${e.source}: ${errorMessage(e.error)}`).join('; ')
    super(`${operation} failed on every backend (${detail})`, { cause: errors[0]?.error })
    this.errors = errors
  }
}

/** The message of any thrown value, for logs and composed errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Any thrown value as an `Error`: itself when it is one, else an `Error` with its string form. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

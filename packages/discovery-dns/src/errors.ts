import { ConfigError, PeerError } from '@peer/discovery-core'

/**
 * The backend's options are unusable (e.g. no resolver given, a bad `host:port`). Thrown by the
 * constructor.
 */
export class DnsConfigError extends ConfigError {}

/**
 * A DNS server answered with an error rcode that says nothing about the name (SERVFAIL, REFUSED,
 * NOTIMP, FORMERR). `code` is the rcode's name from the wire, `rcode` its number.
 */
export class DnsServerError extends PeerError {
  /** The rcode name: `SERVFAIL`, `REFUSED`, `NOTIMP`, `FORMERR` or `RCODE<n>`. */
  readonly code: string
  /** The numeric rcode from the wire. */
  readonly rcode: number
  /** `host:port` of the server that answered. */
  readonly server: string
  constructor(server: string, rcode: number, question: string) {
    const code = rcodeName(rcode)
    super(`DNS server ${server} answered ${code} for ${question}`)
    this.code = code
    this.rcode = rcode
    this.server = server
  }
}

/** No answer arrived in time (every server, every attempt). */
export class DnsTimeoutError extends PeerError {
  /** `host:port` of the server that did not answer. */
  readonly server: string
  constructor(server: string, question: string, timeoutMs: number) {
    super(`no answer from DNS server ${server} for ${question} within ${timeoutMs} ms`)
    this.server = server
  }
}

/** A DNS message could not be decoded or does not answer the question asked. */
export class MalformedDnsMessageError extends PeerError {}

/** Talking to a DNS server failed below DNS (socket error, connection refused or reset). */
export class DnsNetworkError extends PeerError {
  /** `host:port` of the server. */
  readonly server: string
  constructor(server: string, question: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`network error talking to DNS server ${server} for ${question}${reason}`, options)
    this.server = server
  }
}

/**
 * Every resolver failed a query with a transient error; `errors` holds one failure per attempt.
 * `cause` is the last one.
 */
export class DnsQueryFailedError extends PeerError {
  /** One failure per attempt, in order. */
  readonly errors: readonly Error[]
  constructor(question: string, errors: readonly Error[]) {
    const detail = errors.map((e) => e.message).join('; ')
    super(`DNS query ${question} failed on every resolver (${detail})`, { cause: errors.at(-1) })
    this.errors = errors
  }
}

/** A single-node `lookup()` could not get a definite answer (the resolvers failed transiently). */
export class DnsLookupError extends PeerError {}

const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
}

/** The name of a DNS rcode (`SERVFAIL`, ...), or `RCODE<n>` for unnamed ones. */
export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`
}

import { ConfigError, PeerError } from '@peer/discovery-core'
import { MalformedDnsMessageError } from '@peer/discovery-dns/wire'

/** Base class of the errors `@peer/discovery-mdns` throws. */
export class MdnsError extends PeerError {}

/**
 * The options given to `MdnsDiscovery` are invalid (a malformed `serviceType`, a non-positive
 * duration or limit, a count or `port` that is not an integer in its range). A {@link ConfigError},
 * so it can be caught like every package's option errors.
 */
export class MdnsConfigError extends ConfigError {}

/**
 * What was given to `announce()` cannot be published over DNS-SD: no port, a reserved or
 * malformed TXT key, or a TXT record over the size limit.
 */
export class InvalidAnnouncementError extends MdnsError {}

/** A multicast socket could not be opened on an interface (e.g. the port is taken without reuse). */
export class MdnsSocketError extends MdnsError {
  /** The interface the socket was for. */
  readonly interfaceName: string
  constructor(interfaceName: string, message: string, options?: ErrorOptions) {
    super(`mDNS socket on ${interfaceName}: ${message}`, options)
    this.interfaceName = interfaceName
  }
}

/**
 * A DNS message could not be encoded or decoded (a name or label too long, bad compression, data
 * running past the end). Received datagrams that fail this way are dropped and counted. The codec
 * is shared with `@peer/discovery-dns`, and so is its error: this is its `MalformedDnsMessageError`.
 * @deprecated Use `MalformedDnsMessageError` from `@peer/discovery-dns` (or `@peer/discovery-dns/wire`).
 */
export const WireFormatError = MalformedDnsMessageError
/**
 * The type of {@link MalformedDnsMessageError}, under its old mDNS name.
 * @deprecated Use `MalformedDnsMessageError`.
 */
export type WireFormatError = MalformedDnsMessageError

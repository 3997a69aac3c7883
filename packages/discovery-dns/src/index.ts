/**
 * DNS peer discovery for peer: watches an SRV name (`_peer._udp.<domain>`) on the resolvers you
 * give it, resolves every target through A and AAAA, reads node ids from TXT `id=` attributes or
 * `<node id>.` target labels, and reports peers as they appear and go. Works with Kubernetes
 * headless services, Consul DNS and plain zones. Queries are encoded and answers decoded here;
 * truncated answers are retried over TCP; TTLs are honoured and clamped; transient failures keep
 * the last good answer until it is stale.
 *
 * @packageDocumentation
 */
export { CachingResolver, MAX_CNAME_CHAIN, type Resolved, type TtlPolicy } from './dns-cache.js'
export { DnsClient, type DnsClientOptions, type DnsClientStats } from './dns-client.js'
export { DnsDiscovery, type DnsDiscoveryOptions, type DnsDiscoveryStats } from './dns-discovery.js'
export {
  type DnsRecord,
  type DnsResponse,
  decodeResponse,
  MAX_RECORDS_PER_MESSAGE,
  normaliseName,
  type QueryType,
  type RecordBase,
  RecordType,
} from './dns-message.js'
export {
  DnsConfigError,
  DnsLookupError,
  DnsNetworkError,
  DnsQueryFailedError,
  DnsServerError,
  DnsTimeoutError,
  MalformedDnsMessageError,
  rcodeName,
} from './errors.js'
export {
  formatResolver,
  MAX_RESOLVERS,
  parseResolver,
  parseResolvers,
  type ResolverAddress,
} from './resolver-address.js'
export {
  type Candidate,
  type Rejected,
  type ServiceAnswer,
  ServiceResolver,
  type ServiceResolverOptions,
} from './service-resolver.js'
export { orderSrvRecords, type RandomSource, type SrvLike, seededRandom } from './srv-order.js'
export {
  type IdSource,
  identify,
  type NodeIdentity,
  parseTxtAttributes,
  type TxtLimits,
} from './txt-attributes.js'
export type { UdpSocketFactory } from './udp-channel.js'

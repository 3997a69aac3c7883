// The mDNS side of the wire: the codec is the one of @peer/discovery-dns (`@peer/discovery-dns/wire`,
// which carries the unicast-response and cache-flush bits as the `qu` and `flush` fields); what
// only mDNS needs lives here.
export {
  checkHeader,
  type DnsPacket,
  type DnsQuestion,
  type DnsRecord,
  decodePacket,
  encodePacket,
  FLAG_AA,
  FLAG_TC,
  labelsToName,
  nameToLabels,
  nameWireSize,
} from '@peer/discovery-dns/wire'

/** Largest mDNS message (RFC 6762 section 17). */
export const MAX_MDNS_MESSAGE = 9000

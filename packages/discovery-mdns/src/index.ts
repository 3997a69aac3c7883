/**
 * mDNS / DNS-SD peer discovery for peer (RFC 6762, RFC 6763), interoperable with Avahi and
 * Bonjour: announce this node as `<name>._peer._udp.local` and discover the others on the local
 * network, on every interface, with probing, goodbyes, TTL expiry and bounded caches.
 *
 * @packageDocumentation
 */
export {
  InvalidAnnouncementError,
  MdnsConfigError,
  MdnsError,
  MdnsSocketError,
  WireFormatError,
} from './errors.js'
export {
  escapeLabel,
  hostLabelFor,
  instanceLabelFor,
  MAX_LABEL_BYTES,
  renamedInstanceLabel,
  unescapeLabel,
} from './instance-name.js'
export type { DnsPacket, DnsQuestion, DnsRecord } from './interface-socket.js'
export {
  type InterfaceAddress,
  type InterfaceFilter,
  type InterfaceMatcher,
  type InterfaceSource,
  inSubnet,
  isOnLink,
  type MdnsInterface,
  selectInterfaces,
} from './interfaces.js'
export { MdnsDiscovery, type MdnsDiscoveryOptions, type MdnsStats } from './mdns-discovery.js'
export {
  DEFAULT_TXT_LIMITS,
  type DecodedTxt,
  decodeTxt,
  encodeTxt,
  PROTOCOL_VERSION,
  RESERVED_TXT_KEYS,
  type TxtLimits,
  txtSize,
} from './txt.js'
export {
  checkHeader,
  decodePacket,
  encodePacket,
  FLAG_AA,
  FLAG_TC,
  labelsToName,
  MAX_MDNS_MESSAGE,
  nameToLabels,
} from './wire.js'

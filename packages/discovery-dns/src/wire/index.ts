/**
 * The DNS wire format of `@peer/discovery-dns` and `@peer/discovery-mdns`, one codec for both:
 * messages (RFC 1035, with the mDNS unicast-response and cache-flush bits of RFC 6762 as the `qu`
 * and `flush` fields), names in text form with escapes, and the TXT `key=value` parser.
 * Decoding reads untrusted input: anything malformed is a {@link MalformedDnsMessageError}, and
 * nothing else is thrown.
 *
 * @packageDocumentation
 */
export { MalformedDnsMessageError } from '../errors.js'
export {
  checkHeader,
  type DecodeOptions,
  type DnsPacket,
  type DnsQuestion,
  type DnsRecord,
  decodePacket,
  encodePacket,
  FLAG_AA,
  FLAG_TC,
  MIN_QUESTION_BYTES,
  MIN_RECORD_BYTES,
  type SoaData,
  typeCode,
  typeName,
} from './codec.js'
export {
  labelsToName,
  labelToText,
  MAX_NAME_BYTES,
  MAX_WIRE_LABEL,
  NameWriter,
  nameToLabels,
  nameWireSize,
  readName,
} from './names.js'
export { type ParsedTxt, parseTxt, TXT_KEY, type TxtParseLimits, txtSize } from './txt.js'

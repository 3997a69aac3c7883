// How the DNS backend reads and writes messages: a view over the shared codec in ./wire (the one
// the mDNS backend uses too), shaped for a unicast resolver.
import { randomInt } from 'node:crypto'
import { MalformedDnsMessageError } from './errors.js'
import {
  decodePacket,
  encodePacket,
  FLAG_AA,
  FLAG_TC,
  type SoaData,
  typeCode,
  type DnsRecord as WireRecord,
} from './wire/codec.js'

/** Record types this package asks for and understands. */
export const RecordType = Object.freeze({
  A: 1,
  CNAME: 5,
  SOA: 6,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
} as const)

/** A record type name this package queries. */
export type QueryType = 'A' | 'AAAA' | 'SRV' | 'TXT'

/** Fields shared by every decoded record. Names are lowercase, without the trailing dot. */
export interface RecordBase {
  /** The owner name, lowercased, without the trailing dot (`\.` and `\DDD` escapes as in zone files). */
  readonly name: string
  /** Seconds; RFC 2181 section 8: a TTL with the top bit set counts as 0. */
  readonly ttl: number
}

/** A decoded resource record. Types this package does not use are kept as `OTHER`. */
export type DnsRecord =
  | (RecordBase & { readonly type: 'A' | 'AAAA'; readonly address: string })
  | (RecordBase & { readonly type: 'CNAME'; readonly target: string })
  | (RecordBase & {
      readonly type: 'SRV'
      readonly priority: number
      readonly weight: number
      readonly port: number
      readonly target: string
    })
  | (RecordBase & { readonly type: 'TXT'; readonly strings: readonly string[] })
  | (RecordBase & { readonly type: 'SOA'; readonly minimum: number })
  | (RecordBase & { readonly type: 'OTHER'; readonly code: number })

/** A decoded DNS response. */
export interface DnsResponse {
  /** The 16-bit message ID; `DnsClient` accepts an answer only when it is the ID of its query. */
  readonly id: number
  /** The QR bit: `true` for a response, `false` for a query. */
  readonly qr: boolean
  /** The AA bit: the answer comes from a server authoritative for the name. */
  readonly aa: boolean
  /** The TC bit: the message was truncated (over UDP, `DnsClient` then asks again over TCP). */
  readonly tc: boolean
  /** The 4-bit response code of the header: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN ... (see `rcodeName`). */
  readonly rcode: number
  /**
   * The question the message answers: its name lowercased (no trailing dot) and its numeric type
   * (see `RecordType`); `undefined` when the message has no question section.
   */
  readonly question: { readonly name: string; readonly type: number } | undefined
  /** The answer section: the records asked for, with any CNAME chain that leads to them. */
  readonly answers: readonly DnsRecord[]
  /** The authority section; in an NXDOMAIN or NODATA answer, the SOA that sets the negative TTL. */
  readonly authorities: readonly DnsRecord[]
  /** Additional records (empty when the message is truncated). Only hints: see `CachingResolver`. */
  readonly additionals: readonly DnsRecord[]
}

/** Most records decoded from one message; a message claiming more is malformed. */
export const MAX_RECORDS_PER_MESSAGE = 4096

/** Lowercases a DNS name and strips one trailing dot. */
export function normaliseName(name: string): string {
  const lower = name.toLowerCase()
  return lower.endsWith('.') ? lower.slice(0, -1) : lower
}

/**
 * Encodes a query for `name`/`type` with the shared codec (`@peer/discovery-dns/wire`).
 * `udpPayloadSize` > 512 adds an EDNS(0) OPT record advertising it (RFC 6891); 0 or 512 sends a
 * plain RFC 1035 query. Labels are written as their UTF-8 bytes (`\.` and `\DDD` escapes as in
 * zone files); throws a {@link MalformedDnsMessageError} for a name that cannot be encoded (an
 * empty or over-long label, over 255 octets).
 */
export function encodeQuery(
  name: string,
  type: QueryType,
  options: { id?: number; udpPayloadSize?: number; recursionDesired?: boolean } = {},
): { id: number; bytes: Buffer } {
  const id = options.id ?? randomInt(0x10000)
  const size = options.udpPayloadSize ?? 1232
  const bytes = encodePacket({
    type: 'query',
    id: id & 0xffff,
    flags: options.recursionDesired === false ? 0 : FLAG_RD,
    questions: [{ name, type }],
    // OPT: root owner, CLASS = payload size, TTL 0 (extended rcode, version, flags), no RDATA
    additionals: size > 512 ? [{ name: '.', type: 'OPT', class: Math.min(size, 0xffff), ttl: 0 }] : [],
  })
  return { id, bytes }
}

/**
 * Decodes a DNS response with the shared codec (`@peer/discovery-dns/wire`) and reads it as a
 * unicast resolver does: owner names and targets in the codec's text form (no trailing dot, `\.`
 * and `\DDD` escapes), lowercased; A, AAAA, SRV, CNAME, SOA and TXT
 * understood, other types (and records of another class than IN) kept as `OTHER`, OPT dropped; a
 * TTL with the top bit set counts as 0; TXT keeps its character-string boundaries (`key=value`
 * pairs rely on them). At most one question and {@link MAX_RECORDS_PER_MESSAGE} entries; the
 * section counts are checked against the message size before anything is decoded; a truncated
 * message may end inside its additional section, which is then skipped. Any inconsistency
 * (truncated message, RDATA overrunning RDLENGTH or not filling it, a bad name) throws a
 * {@link MalformedDnsMessageError}, and nothing else is thrown.
 */
export function decodeResponse(bytes: Uint8Array): DnsResponse {
  if (bytes.length >= 12) {
    const count = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!
    const qdcount = count(4)
    if (qdcount + count(6) + count(8) + count(10) > MAX_RECORDS_PER_MESSAGE) {
      throw new MalformedDnsMessageError(`DNS message claims more than ${MAX_RECORDS_PER_MESSAGE} records`)
    }
    if (qdcount > 1) throw new MalformedDnsMessageError(`DNS message has ${qdcount} questions`)
  }
  const packet = decodePacket(bytes, { skipTruncatedAdditionals: true })
  const flags = packet.flags ?? 0
  const q = packet.questions?.[0]
  const section = (records: readonly WireRecord[] | undefined): DnsRecord[] => {
    const out: DnsRecord[] = []
    for (const r of records ?? []) {
      const record = fromWire(r)
      if (record !== undefined) out.push(record)
    }
    return out
  }
  return {
    id: packet.id ?? 0,
    qr: packet.type === 'response',
    aa: (flags & FLAG_AA) !== 0,
    tc: (flags & FLAG_TC) !== 0,
    rcode: flags & 0x000f,
    question: q === undefined ? undefined : { name: q.name.toLowerCase(), type: typeCode(q.type) },
    answers: section(packet.answers),
    authorities: section(packet.authorities),
    additionals: section(packet.additionals),
  }
}

/** Recursion desired (RFC 1035 section 4.1.1). */
const FLAG_RD = 0x0100

/** A record as the codec decoded it, as this package reads it (undefined: dropped). */
function fromWire(r: WireRecord): DnsRecord | undefined {
  if (r.type === 'OPT') return undefined
  const rawTtl = r.ttl ?? 0
  const base = { name: r.name.toLowerCase(), ttl: rawTtl > 0x7fffffff ? 0 : rawTtl }
  if (r.class !== 'IN') return { ...base, type: 'OTHER', code: typeCode(r.type) }
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return { ...base, type: r.type, address: r.data as string }
    case 'CNAME':
      return { ...base, type: 'CNAME', target: (r.data as string).toLowerCase() }
    case 'SRV': {
      const d = r.data as { priority: number; weight: number; port: number; target: string }
      return {
        ...base,
        type: 'SRV',
        priority: d.priority,
        weight: d.weight,
        port: d.port,
        target: d.target.toLowerCase(),
      }
    }
    case 'SOA':
      return { ...base, type: 'SOA', minimum: (r.data as SoaData).minimum }
    case 'TXT':
      return { ...base, type: 'TXT', strings: (r.data as Buffer[]).map((s) => s.toString('utf8')) }
    default:
      return { ...base, type: 'OTHER', code: typeCode(r.type) }
  }
}

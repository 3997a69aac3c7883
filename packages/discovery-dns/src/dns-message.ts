import { randomInt } from 'node:crypto'
import DNS from 'dns2'

const { Packet } = DNS
type Reader = DNS.Packet.Reader

import { MalformedDnsMessageError } from './errors.js'

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
interface RecordBase {
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
  readonly id: number
  readonly qr: boolean
  readonly aa: boolean
  readonly tc: boolean
  readonly rcode: number
  readonly question: { readonly name: string; readonly type: number } | undefined
  readonly answers: readonly DnsRecord[]
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
 * Encodes a query for `name`/`type` with dns2's encoder. `udpPayloadSize` > 512 adds an EDNS(0)
 * OPT record advertising it (RFC 6891); 0 or 512 sends a plain RFC 1035 query.
 */
export function encodeQuery(
  name: string,
  type: QueryType,
  options: { id?: number; udpPayloadSize?: number; recursionDesired?: boolean } = {},
): { id: number; bytes: Buffer } {
  const id = options.id ?? randomInt(0x10000)
  const packet = new Packet()
  packet.header.id = id
  packet.header.rd = options.recursionDesired === false ? 0 : 1
  packet.questions.push({ name, type: RecordType[type], class: Packet.CLASS.IN } as DNS.Packet.Question)
  const size = options.udpPayloadSize ?? 1232
  if (size > 512) {
    packet.additionals.push(
      (Packet.Resource as unknown as { EDNS(rdata: object[], opts: object): DNS.Packet.Resource }).EDNS([], {
        udpPayloadSize: size,
      }),
    )
  }
  return { id, bytes: packet.toBuffer() }
}

type RdataDecoder = { decode(this: Record<string, unknown>, reader: Reader, length: number): unknown }
const decoders = Packet.Resource as unknown as Record<string, RdataDecoder | undefined>

/**
 * Decodes a DNS response. Framing (header, question, each record's owner, type, class, TTL and
 * RDLENGTH) is read with dns2's reader and name decoder (which resolves compression pointers and
 * rejects pointer loops); RDATA of A, AAAA, SRV, CNAME and SOA goes through dns2's decoders, TXT is
 * split into its character-strings here (dns2 joins them into one string, losing the boundaries
 * that `key=value` pairs rely on). Unlike `Packet.parse`, which skips records it cannot decode, any
 * inconsistency (truncated message, RDATA overrunning RDLENGTH, wrong RDATA size, a bad name)
 * throws a {@link MalformedDnsMessageError}.
 */
export function decodeResponse(bytes: Uint8Array): DnsResponse {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.length < 12)
    throw new MalformedDnsMessageError(`DNS message of ${buffer.length} bytes is too short`)
  try {
    return decodeChecked(buffer)
  } catch (error) {
    if (error instanceof MalformedDnsMessageError) throw error
    throw new MalformedDnsMessageError(
      `undecodable DNS message: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  }
}

function decodeChecked(buffer: Buffer): DnsResponse {
  const totalBits = buffer.length * 8
  const reader = new Packet.Reader(buffer, 0)
  const header = Packet.Header.parse(reader)
  const counts = [header.qdcount, header.ancount, header.nscount, header.arcount]
  if (counts.reduce((a, b) => a + b, 0) > MAX_RECORDS_PER_MESSAGE) {
    throw new MalformedDnsMessageError(`DNS message claims more than ${MAX_RECORDS_PER_MESSAGE} records`)
  }
  if (header.qdcount > 1) throw new MalformedDnsMessageError(`DNS message has ${header.qdcount} questions`)
  let question: DnsResponse['question']
  if (header.qdcount === 1) {
    const name = normaliseName(Packet.Name.decode(reader))
    const type = reader.read(16)
    reader.read(16) // class
    question = { name, type }
  }
  const section = (count: number): DnsRecord[] => {
    const out: DnsRecord[] = []
    for (let i = 0; i < count; i++) {
      const record = decodeRecord(buffer, reader, totalBits)
      if (record !== undefined) out.push(record)
    }
    return out
  }
  const answers = section(header.ancount)
  const authorities = section(header.nscount)
  // a truncated message may end anywhere in the additional section: skip it then
  const additionals = header.tc !== 1 ? section(header.arcount) : []
  if (reader.offset > totalBits) throw new MalformedDnsMessageError('DNS message ends inside a record')
  return {
    id: header.id,
    qr: header.qr === 1,
    aa: header.aa === 1,
    tc: header.tc === 1,
    rcode: header.rcode,
    question,
    answers,
    authorities,
    additionals,
  }
}

function decodeRecord(buffer: Buffer, reader: Reader, totalBits: number): DnsRecord | undefined {
  const name = normaliseName(Packet.Name.decode(reader))
  const type = reader.read(16)
  const cls = reader.read(16)
  const rawTtl = reader.read(32)
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl
  const length = reader.read(16)
  const start = reader.offset
  const end = start + length * 8
  if (end > totalBits) throw new MalformedDnsMessageError(`record ${name} RDATA overruns the message`)
  const base = { name, ttl }
  let record: DnsRecord | undefined
  const viaDns2 = (decoderName: string): Record<string, unknown> => {
    const target: Record<string, unknown> = {}
    decoders[decoderName]!.decode.call(target, reader, length)
    if (reader.offset !== end) {
      throw new MalformedDnsMessageError(
        `${decoderName} record ${name} does not fill its RDLENGTH of ${length}`,
      )
    }
    return target
  }
  if (type === RecordType.OPT) {
    record = undefined
  } else if (cls !== 1) {
    record = { ...base, type: 'OTHER', code: type }
  } else if (type === RecordType.A) {
    if (length !== 4) throw new MalformedDnsMessageError(`A record ${name} has ${length} bytes of RDATA`)
    record = { ...base, type: 'A', address: String(viaDns2('A').address) }
  } else if (type === RecordType.AAAA) {
    if (length !== 16) throw new MalformedDnsMessageError(`AAAA record ${name} has ${length} bytes of RDATA`)
    record = { ...base, type: 'AAAA', address: String(viaDns2('AAAA').address) }
  } else if (type === RecordType.SRV) {
    if (length < 7) throw new MalformedDnsMessageError(`SRV record ${name} has ${length} bytes of RDATA`)
    const d = viaDns2('SRV')
    record = {
      ...base,
      type: 'SRV',
      priority: Number(d.priority),
      weight: Number(d.weight),
      port: Number(d.port),
      target: normaliseName(String(d.target)),
    }
  } else if (type === RecordType.CNAME) {
    record = { ...base, type: 'CNAME', target: normaliseName(String(viaDns2('CNAME').domain)) }
  } else if (type === RecordType.SOA) {
    record = { ...base, type: 'SOA', minimum: Number(viaDns2('SOA').minimum) }
  } else if (type === RecordType.TXT) {
    record = { ...base, type: 'TXT', strings: decodeCharacterStrings(buffer, start / 8, length, name) }
  } else {
    record = { ...base, type: 'OTHER', code: type }
  }
  reader.offset = end
  return record
}

/** Splits TXT RDATA into its <character-string>s (RFC 1035 section 3.3.14). */
function decodeCharacterStrings(buffer: Buffer, offset: number, length: number, name: string): string[] {
  const strings: string[] = []
  let i = offset
  const end = offset + length
  while (i < end) {
    const n = buffer[i]!
    if (i + 1 + n > end)
      throw new MalformedDnsMessageError(`TXT record ${name} has a string overrunning its RDATA`)
    strings.push(buffer.toString('utf8', i + 1, i + 1 + n))
    i += 1 + n
  }
  return strings
}

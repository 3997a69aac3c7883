import { randomInt } from 'node:crypto'
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
export interface RecordBase {
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

/** Longest name on the wire, length bytes and the root label included (RFC 1035 section 2.3.4). */
const MAX_NAME_OCTETS = 255
/** Smallest question on the wire: root name, type, class. */
const MIN_QUESTION = 5
/** Smallest resource record on the wire: root name, type, class, TTL, RDLENGTH. */
const MIN_RECORD = 11

/**
 * Encodes a query for `name`/`type`. `udpPayloadSize` > 512 adds an EDNS(0) OPT record
 * advertising it (RFC 6891); 0 or 512 sends a plain RFC 1035 query. Labels are written byte for
 * byte (latin1, as they are decoded); throws a {@link MalformedDnsMessageError} for a name that
 * cannot be encoded (an empty or over-long label, over 255 octets, a character above U+00FF).
 */
export function encodeQuery(
  name: string,
  type: QueryType,
  options: { id?: number; udpPayloadSize?: number; recursionDesired?: boolean } = {},
): { id: number; bytes: Buffer } {
  const id = options.id ?? randomInt(0x10000)
  const qname = encodeName(name)
  const size = options.udpPayloadSize ?? 1232
  const edns = size > 512
  const bytes = Buffer.alloc(12 + qname.length + 4 + (edns ? 11 : 0))
  bytes.writeUInt16BE(id & 0xffff, 0)
  bytes.writeUInt16BE(options.recursionDesired === false ? 0 : 0x0100, 2)
  bytes.writeUInt16BE(1, 4) // QDCOUNT
  bytes.writeUInt16BE(edns ? 1 : 0, 10) // ARCOUNT
  qname.copy(bytes, 12)
  let at = 12 + qname.length
  bytes.writeUInt16BE(RecordType[type], at)
  bytes.writeUInt16BE(1, at + 2) // class IN
  at += 4
  if (edns) {
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL 0 (extended rcode, version, flags), no RDATA
    bytes[at] = 0
    bytes.writeUInt16BE(RecordType.OPT, at + 1)
    bytes.writeUInt16BE(Math.min(size, 0xffff), at + 3)
  }
  return { id, bytes }
}

/** A name in wire form (uncompressed). */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name
  const labels = trimmed === '' ? [] : trimmed.split('.')
  const parts: Buffer[] = []
  let total = 1
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || /[^\u0000-\u00ff]/.test(label)) {
      throw new MalformedDnsMessageError(`name ${JSON.stringify(name.slice(0, 300))} cannot be encoded`)
    }
    total += label.length + 1
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'))
  }
  if (total > MAX_NAME_OCTETS) {
    throw new MalformedDnsMessageError(`name ${JSON.stringify(name.slice(0, 300))} is over 255 octets`)
  }
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

/**
 * Decodes a DNS response: header, question, and every record's owner, type, class, TTL and RDATA
 * (A, AAAA, SRV, CNAME, SOA and TXT understood; other types kept as `OTHER`; OPT dropped). TXT
 * keeps its character-string boundaries (`key=value` pairs rely on them). Names are read with
 * compression pointers that must point backwards (so no loop), at most 255 octets. The section
 * counts are checked against the message size before anything is decoded. Any inconsistency
 * (truncated message, RDATA overrunning RDLENGTH or not filling it, a bad name) throws a
 * {@link MalformedDnsMessageError}, and nothing else is thrown.
 */
export function decodeResponse(bytes: Uint8Array): DnsResponse {
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.length < 12)
    throw new MalformedDnsMessageError(`DNS message of ${buffer.length} bytes is too short`)
  const flags = buffer.readUInt16BE(2)
  const tc = (flags & 0x0200) !== 0
  const qdcount = buffer.readUInt16BE(4)
  const ancount = buffer.readUInt16BE(6)
  const nscount = buffer.readUInt16BE(8)
  const arcount = buffer.readUInt16BE(10)
  if (qdcount + ancount + nscount + arcount > MAX_RECORDS_PER_MESSAGE) {
    throw new MalformedDnsMessageError(`DNS message claims more than ${MAX_RECORDS_PER_MESSAGE} records`)
  }
  if (qdcount > 1) throw new MalformedDnsMessageError(`DNS message has ${qdcount} questions`)
  // a truncated message may end anywhere in the additional section (it is skipped then)
  const least = 12 + qdcount * MIN_QUESTION + (ancount + nscount + (tc ? 0 : arcount)) * MIN_RECORD
  if (least > buffer.length) {
    throw new MalformedDnsMessageError(
      `DNS message of ${buffer.length} bytes cannot hold the ${qdcount + ancount + nscount + arcount} entries it claims`,
    )
  }
  const reader = new WireReader(buffer)
  reader.offset = 12
  let question: DnsResponse['question']
  if (qdcount === 1) {
    const name = normaliseName(reader.name())
    const type = reader.u16()
    reader.u16() // class
    question = { name, type }
  }
  const section = (count: number): DnsRecord[] => {
    const out: DnsRecord[] = []
    for (let i = 0; i < count; i++) {
      const record = decodeRecord(reader)
      if (record !== undefined) out.push(record)
    }
    return out
  }
  const answers = section(ancount)
  const authorities = section(nscount)
  const additionals = tc ? [] : section(arcount)
  return {
    id: buffer.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    aa: (flags & 0x0400) !== 0,
    tc,
    rcode: flags & 0x000f,
    question,
    answers,
    authorities,
    additionals,
  }
}

/** Reads a DNS message front to back; every read past the end throws a MalformedDnsMessageError. */
class WireReader {
  offset = 0
  constructor(readonly buffer: Buffer) {}

  #need(n: number, what: string): void {
    if (this.offset + n > this.buffer.length)
      throw new MalformedDnsMessageError(`DNS message ends inside ${what}`)
  }

  u8(): number {
    this.#need(1, 'a field')
    return this.buffer[this.offset++]!
  }

  u16(): number {
    this.#need(2, 'a field')
    const v = this.buffer.readUInt16BE(this.offset)
    this.offset += 2
    return v
  }

  u32(): number {
    this.#need(4, 'a field')
    const v = this.buffer.readUInt32BE(this.offset)
    this.offset += 4
    return v
  }

  /** A (possibly compressed) name; the reader moves past its in-place part. */
  name(): string {
    const buf = this.buffer
    const labels: string[] = []
    let at = this.offset
    let resume = -1
    let octets = 1
    for (;;) {
      if (at >= buf.length) throw new MalformedDnsMessageError('DNS message ends inside a name')
      const len = buf[at]!
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= buf.length) throw new MalformedDnsMessageError('DNS message ends inside a name')
        const target = ((len & 0x3f) << 8) | buf[at + 1]!
        // only backwards: a pointer to a prior occurrence (RFC 1035 section 4.1.4), so no loop
        if (target >= at)
          throw new MalformedDnsMessageError('name compression pointer does not point backwards')
        if (resume < 0) resume = at + 2
        at = target
        continue
      }
      if ((len & 0xc0) !== 0) {
        throw new MalformedDnsMessageError(`invalid label length byte 0x${len.toString(16)}`)
      }
      if (len === 0) {
        at += 1
        break
      }
      octets += len + 1
      if (octets > MAX_NAME_OCTETS) throw new MalformedDnsMessageError('name is over 255 octets')
      if (at + 1 + len > buf.length) throw new MalformedDnsMessageError('DNS message ends inside a name')
      labels.push(buf.toString('latin1', at + 1, at + 1 + len))
      at += 1 + len
    }
    this.offset = resume >= 0 ? resume : at
    return labels.join('.')
  }
}

function decodeRecord(reader: WireReader): DnsRecord | undefined {
  const name = normaliseName(reader.name())
  const type = reader.u16()
  const cls = reader.u16()
  const rawTtl = reader.u32()
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl
  const length = reader.u16()
  const start = reader.offset
  const end = start + length
  const buf = reader.buffer
  if (end > buf.length) throw new MalformedDnsMessageError(`record ${name} RDATA overruns the message`)
  const base = { name, ttl }
  const filled = (what: string) => {
    if (reader.offset !== end) {
      throw new MalformedDnsMessageError(`${what} record ${name} does not fill its RDLENGTH of ${length}`)
    }
  }
  let record: DnsRecord | undefined
  if (type === RecordType.OPT) {
    record = undefined
  } else if (cls !== 1) {
    record = { ...base, type: 'OTHER', code: type }
  } else if (type === RecordType.A) {
    if (length !== 4) throw new MalformedDnsMessageError(`A record ${name} has ${length} bytes of RDATA`)
    record = {
      ...base,
      type: 'A',
      address: `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`,
    }
  } else if (type === RecordType.AAAA) {
    if (length !== 16) throw new MalformedDnsMessageError(`AAAA record ${name} has ${length} bytes of RDATA`)
    record = { ...base, type: 'AAAA', address: formatIPv6(buf, start) }
  } else if (type === RecordType.SRV) {
    if (length < 7) throw new MalformedDnsMessageError(`SRV record ${name} has ${length} bytes of RDATA`)
    const priority = reader.u16()
    const weight = reader.u16()
    const port = reader.u16()
    const target = normaliseName(reader.name())
    filled('SRV')
    record = { ...base, type: 'SRV', priority, weight, port, target }
  } else if (type === RecordType.CNAME) {
    const target = normaliseName(reader.name())
    filled('CNAME')
    record = { ...base, type: 'CNAME', target }
  } else if (type === RecordType.SOA) {
    reader.name() // MNAME
    reader.name() // RNAME
    reader.offset += 16 // SERIAL, REFRESH, RETRY, EXPIRE
    const minimum = reader.u32()
    filled('SOA')
    record = { ...base, type: 'SOA', minimum }
  } else if (type === RecordType.TXT) {
    record = { ...base, type: 'TXT', strings: decodeCharacterStrings(buf, start, length, name) }
  } else {
    record = { ...base, type: 'OTHER', code: type }
  }
  reader.offset = end
  return record
}

/** RFC 5952 text form of the 16 bytes at `offset`: lowercase, no leading zeros, longest zero run as `::`. */
function formatIPv6(buf: Buffer, offset: number): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2))
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':')
  if (bestLen < 2) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`
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

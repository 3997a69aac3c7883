// Issue 12 item 13: property tests for the DNS message codec and the client's answer checks.
// Invariants: no throw other than MalformedDnsMessageError (or DnsServerError for a definite
// error rcode in checkResponse), bounded time per input, and valid messages round-trip.
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { expectDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import DNS from 'dns2'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkResponse, TcpAnswerReader } from '../src/dns-client.js'
import {
  DnsServerError,
  decodeResponse,
  MalformedDnsMessageError,
  parseResolver,
  type QueryType,
} from '../src/index.js'
import { encodeQuery } from '../src/internal.js'
import { labelsToName, nameToLabels } from '../src/wire/index.js'

const { Packet } = DNS
/** Generous: a hang or a quadratic blow-up, not a slow machine, is what this catches. */
const MAX_MS_PER_INPUT = 1000
const server = parseResolver('127.0.0.1:53')

function onlyMalformed<T>(run: () => T): T | undefined {
  return withinCaseBound(() => {
    try {
      return run()
    } catch (error) {
      expectDocumentedError(error, MalformedDnsMessageError)
      return undefined
    }
  }, MAX_MS_PER_INPUT)
}

const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/)
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'))
const ttl = fc.integer({ min: 0, max: 0x7fffffff })
const ipv4 = fc.ipV4()
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
const txtString = fc.stringMatching(/^[ -~]{0,60}$/)

type Rec =
  | { type: 'A' | 'AAAA'; name: string; ttl: number; address: string }
  | { type: 'CNAME'; name: string; ttl: number; target: string }
  | { type: 'TXT'; name: string; ttl: number; strings: string[] }
  | { type: 'SRV'; name: string; ttl: number; priority: number; weight: number; port: number; target: string }

const record: fc.Arbitrary<Rec> = fc.oneof(
  fc.record({ type: fc.constant('A' as const), name: dnsName, ttl, address: ipv4 }),
  fc.record({
    type: fc.constant('AAAA' as const),
    name: dnsName,
    ttl,
    address: ipv6.map((g) => g.map((x) => x.toString(16)).join(':')),
  }),
  fc.record({ type: fc.constant('CNAME' as const), name: dnsName, ttl, target: dnsName }),
  fc.record({
    type: fc.constant('TXT' as const),
    name: dnsName,
    ttl,
    strings: fc.array(txtString, { minLength: 1, maxLength: 5 }),
  }),
  fc.record({
    type: fc.constant('SRV' as const),
    name: dnsName,
    ttl,
    priority: fc.integer({ min: 0, max: 0xffff }),
    weight: fc.integer({ min: 0, max: 0xffff }),
    port: fc.integer({ min: 0, max: 0xffff }),
    target: dnsName,
  }),
)

function toDns2(r: Rec): DNS.Packet.Resource {
  const base = { name: r.name, ttl: r.ttl, class: 1 }
  switch (r.type) {
    case 'A':
      return { ...base, type: 1, address: r.address } as DNS.Packet.Resource
    case 'AAAA':
      return { ...base, type: 28, address: r.address } as DNS.Packet.Resource
    case 'CNAME':
      return { ...base, type: 5, domain: r.target } as DNS.Packet.Resource
    case 'TXT':
      return { ...base, type: 16, data: r.strings } as DNS.Packet.Resource
    case 'SRV':
      return {
        ...base,
        type: 33,
        priority: r.priority,
        weight: r.weight,
        port: r.port,
        target: r.target,
      } as DNS.Packet.Resource
  }
}

/** What decodeResponse should give back for `r`. */
function expected(r: Rec): unknown {
  const base = { name: r.name, ttl: r.ttl }
  switch (r.type) {
    case 'A':
      return { ...base, type: 'A', address: r.address }
    case 'AAAA':
      return { ...base, type: 'AAAA', address: expect.any(String) }
    case 'CNAME':
      return { ...base, type: 'CNAME', target: r.target }
    case 'TXT':
      return { ...base, type: 'TXT', strings: r.strings }
    case 'SRV':
      return { ...base, type: 'SRV', priority: r.priority, weight: r.weight, port: r.port, target: r.target }
  }
}

const message = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  qname: dnsName,
  qtype: fc.constantFrom<QueryType>('A', 'AAAA', 'SRV', 'TXT'),
  rcode: fc.constantFrom(0, 2, 3, 5),
  answers: fc.array(record, { maxLength: 8 }),
  additionals: fc.array(record, { maxLength: 8 }),
})

function encode(m: Message): Buffer {
  const p = new Packet()
  p.header.id = m.id
  p.header.qr = 1
  p.header.rcode = m.rcode
  p.questions.push({
    name: m.qname,
    type: { A: 1, AAAA: 28, SRV: 33, TXT: 16 }[m.qtype],
    class: 1,
  } as DNS.Packet.Question)
  for (const r of m.answers) p.answers.push(toDns2(r))
  for (const r of m.additionals) p.additionals.push(toDns2(r))
  return p.toBuffer()
}

type Message = typeof message extends fc.Arbitrary<infer M> ? M : never

describe('decodeResponse', () => {
  it(
    'throws nothing but MalformedDnsMessageError on arbitrary bytes',
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 700 }),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
          (bytes, counts) => {
            onlyMalformed(() => decodeResponse(bytes))
            // mostly small section counts, so that decoding goes past the header
            const framed = Buffer.concat([Buffer.alloc(12), bytes])
            for (const [i, c] of counts.entries()) framed.writeUInt16BE(c, 4 + i * 2)
            onlyMalformed(() => decodeResponse(framed))
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'throws nothing but MalformedDnsMessageError on damaged valid messages',
    () => {
      const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      })
      fc.assert(
        fc.property(message, damage, fc.nat(), (m, flips, cut) => {
          const bytes = Buffer.from(encode(m))
          for (const [at, value] of flips) bytes[at % bytes.length] = value
          onlyMalformed(() => decodeResponse(bytes))
          onlyMalformed(() => decodeResponse(bytes.subarray(0, cut % (bytes.length + 1))))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'round-trips valid messages encoded by another encoder (dns2)',
    () => {
      fc.assert(
        fc.property(message, (m) => {
          const decoded = decodeResponse(encode(m))
          expect(decoded).toMatchObject({ id: m.id, qr: true, tc: false, rcode: m.rcode })
          expect(decoded.question).toEqual({
            name: m.qname,
            type: { A: 1, AAAA: 28, SRV: 33, TXT: 16 }[m.qtype],
          })
          expect(decoded.answers).toEqual(m.answers.map(expected))
          expect(decoded.additionals).toEqual(m.additionals.map(expected))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'reads AAAA addresses as node:net does',
    async () => {
      const { isIPv6 } = await import('node:net')
      fc.assert(
        fc.property(dnsName, ipv6, (name, groups) => {
          const address = groups.map((x) => x.toString(16)).join(':')
          const decoded = decodeResponse(
            encode({
              id: 1,
              qname: name,
              qtype: 'AAAA',
              rcode: 0,
              answers: [{ type: 'AAAA', name, ttl: 1, address }],
              additionals: [],
            }),
          )
          const got = decoded.answers[0]
          expect(got?.type === 'AAAA' && isIPv6(got.address)).toBe(true)
          const expand = (a: string) => new URL(`http://[${a}]`).hostname
          expect(got?.type === 'AAAA' && expand(got.address)).toBe(expand(address))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'rejects section counts the message cannot hold before decoding anything',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
          fc.uint8Array({ maxLength: 64 }),
          (counts, body) => {
            const header = Buffer.alloc(12)
            header.writeUInt16BE(0x8000, 2)
            for (const [i, c] of counts.entries()) header.writeUInt16BE(c, 4 + i * 2)
            const total = counts.reduce((a, b) => a + b, 0)
            const bytes = Buffer.concat([header, body])
            const result = onlyMalformed(() => decodeResponse(bytes))
            if (counts[0]! * 5 + (counts[1]! + counts[2]! + counts[3]!) * 11 > body.length)
              expect(result).toBeUndefined()
            if (result !== undefined) expect(total).toBeLessThanOrEqual(body.length)
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

describe('encodeQuery', () => {
  it(
    'round-trips through decodeResponse, or refuses a name it cannot encode',
    () => {
      const anyName = fc.oneof(dnsName, fc.string({ maxLength: 300 }))
      fc.assert(
        fc.property(
          anyName,
          fc.constantFrom<QueryType>('A', 'AAAA', 'SRV', 'TXT'),
          fc.integer({ min: 0, max: 0xffff }),
          (name, type, id) => {
            const encoded = onlyMalformed(() => encodeQuery(name, type, { id }))
            if (encoded === undefined) return
            const decoded = decodeResponse(encoded.bytes)
            expect(decoded.id).toBe(id)
            expect(decoded.qr).toBe(false)
            // what was sent, in the codec's text form (escapes as in zone files)
            expect(decoded.question).toEqual({
              name: labelsToName(nameToLabels(name)).toLowerCase(),
              type: { A: 1, AAAA: 28, SRV: 33, TXT: 16 }[type],
            })
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

describe('the client answer checks', () => {
  it(
    'checkResponse throws only MalformedDnsMessageError or DnsServerError',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            message.map(encode),
            fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          ),
          message,
          (bytes, asked) => {
            withinCaseBound(() => {
              try {
                checkResponse(decodeResponse(bytes), asked.id, asked.qname, asked.qtype, server)
              } catch (error) {
                if (!(error instanceof MalformedDnsMessageError) && !(error instanceof DnsServerError))
                  throw error
              }
            }, MAX_MS_PER_INPUT)
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'TcpAnswerReader reassembles a framed message however it is chunked, and rejects overlong input',
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 2000 }),
          fc.array(fc.nat({ max: 2100 }), { maxLength: 10 }),
          fc.uint8Array({ maxLength: 300 }),
          (body, cuts, junk) => {
            const prefix = Buffer.alloc(2)
            prefix.writeUInt16BE(body.length)
            const framed = Buffer.concat([prefix, body])
            const points = [...new Set(cuts.map((c) => c % (framed.length + 1)))].sort((a, b) => a - b)
            const reader = new TcpAnswerReader()
            let answer: Buffer | undefined
            let from = 0
            for (const to of [...points, framed.length]) {
              if (answer !== undefined) break
              answer = reader.push(framed.subarray(from, to))
              from = to
            }
            expect(answer).toEqual(Buffer.from(body))
            // arbitrary bytes: a message, more needed, or a MalformedDnsMessageError
            const other = new TcpAnswerReader()
            onlyMalformed(() => other.push(Buffer.from(junk)))
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

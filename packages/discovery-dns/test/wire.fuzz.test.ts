// Property tests of the shared DNS codec (`@peer/discovery-dns/wire`, used by the DNS and the mDNS
// backends; issue 16 item 8): any bytes decode or throw only MalformedDnsMessageError, in bounded
// time, with and without the unicast truncation rule; whatever decodes re-encodes to a message
// that decodes the same (SOA, OPT, the cache-flush and unicast-response bits included); the TXT
// parser never throws and keeps only valid attributes. The mDNS receive path has its own
// properties in packages/discovery-mdns/test/packet.fuzz.test.ts.
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { expectDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type DnsPacket,
  decodePacket,
  encodePacket,
  MalformedDnsMessageError,
  parseTxt,
  TXT_KEY,
} from '../src/wire/index.js'

const MAX_MS_PER_INPUT = 1000

function decodeOrMalformed(bytes: Uint8Array, skip: boolean): DnsPacket | undefined {
  return withinCaseBound(() => {
    try {
      return decodePacket(bytes, { skipTruncatedAdditionals: skip })
    } catch (error) {
      expectDocumentedError(error, MalformedDnsMessageError)
      return undefined
    }
  }, MAX_MS_PER_INPUT)
}

/** A header with small section counts in front of random bytes, so records get decoded. */
const framed = fc
  .tuple(
    fc.integer({ min: 0, max: 0xffff }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    fc.uint8Array({ maxLength: 300 }),
  )
  .map(([flags, counts, body]) => {
    const header = Buffer.alloc(12)
    header.writeUInt16BE(flags, 2)
    for (const [i, c] of counts.entries()) header.writeUInt16BE(c, 4 + i * 2)
    return Buffer.concat([header, body])
  })

const label = fc.stringMatching(/^[a-z0-9][a-z0-9 .-]{0,12}$/).map((l) => l.replaceAll(/[.\\]/g, '\\$&'))
const name = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'))
const u32 = fc.integer({ min: 0, max: 0xffffffff })

/** Valid messages built with the encoder: the record types both backends use. */
const message: fc.Arbitrary<DnsPacket> = fc.record({
  type: fc.constantFrom('query' as const, 'response' as const),
  id: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.constantFrom(0, 0x400, 0x100),
  questions: fc.array(
    fc.record({ name, type: fc.constantFrom('A', 'SRV', 'PTR', 'TXT', 'ANY'), qu: fc.boolean() }),
    { maxLength: 2 },
  ),
  answers: fc.array(
    fc.oneof(
      fc.record({ name, type: fc.constant('A'), ttl: u32, flush: fc.boolean(), data: fc.ipV4() }),
      fc.record({ name, type: fc.constant('CNAME'), ttl: u32, flush: fc.boolean(), data: name }),
      fc.record({
        name,
        type: fc.constant('SRV'),
        ttl: u32,
        flush: fc.boolean(),
        data: fc.record({
          priority: fc.integer({ min: 0, max: 0xffff }),
          weight: fc.integer({ min: 0, max: 0xffff }),
          port: fc.integer({ min: 0, max: 0xffff }),
          target: name,
        }),
      }),
      fc.record({
        name,
        type: fc.constant('TXT'),
        ttl: u32,
        flush: fc.boolean(),
        data: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }).map(Buffer.from), {
          minLength: 1,
          maxLength: 4,
        }),
      }),
      fc.record({
        name,
        type: fc.constant('SOA'),
        ttl: u32,
        flush: fc.constant(false),
        data: fc.record({
          mname: name,
          rname: name,
          serial: u32,
          refresh: u32,
          retry: u32,
          expire: u32,
          minimum: u32,
        }),
      }),
    ),
    { maxLength: 6 },
  ),
  additionals: fc.constantFrom([], [{ name: '', type: 'OPT', class: 1232, ttl: 0, data: Buffer.alloc(0) }]),
})

describe('the shared DNS codec', () => {
  it(
    'throws nothing but MalformedDnsMessageError on arbitrary bytes, with either truncation rule',
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), framed), fc.boolean(), (bytes, skip) => {
          decodeOrMalformed(bytes, skip)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'decodes what it encodes, and re-encodes what it decoded to the same message',
    () => {
      fc.assert(
        fc.property(message, (m) => {
          const once = decodePacket(encodePacket(m))
          expect(once.questions!.map((q) => [q.name, q.type, q.qu])).toEqual(
            m.questions!.map((q) => [q.name, q.type, q.qu]),
          )
          expect(once.answers!.map((r) => [r.name, r.type, r.ttl, r.flush, r.data])).toEqual(
            m.answers!.map((r) => [r.name, r.type, r.ttl, r.flush, r.data]),
          )
          expect(once.additionals!.map((r) => [r.type, r.class])).toEqual(
            m.additionals!.map(() => ['OPT', 'UNKNOWN_1232']),
          )
          const twice = decodePacket(encodePacket({ ...once, additionals: m.additionals }))
          expect(twice).toEqual(once)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'parseTxt never throws and keeps only valid attributes, within its limits',
    () => {
      const strings = fc.array(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 40 }),
          fc.constantFrom('a=1', 'B', 'b=2'),
        ),
        { maxLength: 30 },
      )
      fc.assert(
        fc.property(strings, fc.integer({ min: 1, max: 10 }), (input, maxEntries) => {
          const { entries, flags, problems } = parseTxt(input, { maxEntries, maxBytes: 600 })
          expect(entries.size + flags.size).toBeLessThanOrEqual(maxEntries)
          for (const [key, value] of [...entries, ...[...flags].map((f) => [f, ''] as const)]) {
            expect(TXT_KEY.test(key) && key === key.toLowerCase()).toBe(true)
            expect(value).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
          }
          expect(Array.isArray(problems)).toBe(true)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

// Fuzz: the envelope fast paths (envelope-bytes.ts) against the general MessagePack codec. The fast
// encoder must write what the general decoder reads back as the same envelope; the fast reader
// must, for any input at all, either step aside (undefined) or return exactly what the general
// decoder returns: so peers on either codec read each other, and malformed input still gets the
// general codec's error.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { mutatedBytes, splicedBytes } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeEnvelope,
  decodeValue,
  type Envelope,
  encodeEnvelope,
  encodeValue,
  KIND,
  MAX_REQUEST_ID,
  MAX_TOPIC_LENGTH,
} from '../src/envelope.js'
import { encodeBytesEnvelope, readBytesEnvelope } from '../src/envelope-bytes.js'

const BIG = 64 * 1024 * 1024
const THROWS = Symbol('throws')

/** Payload sizes around every MessagePack bin header boundary, and some random ones. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .constantFrom(0, 255, 256, 4095, 4096, 16383, 16384, 65535, 65536, 70000)
    .map((n) => new Uint8Array(n).map((_, i) => i * 7)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
)
const topicArb = fc.oneof(
  fc.string({ maxLength: MAX_TOPIC_LENGTH }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('sink', 'a'.repeat(31), 'b'.repeat(32), 'c'.repeat(255), 'd'.repeat(256), 'é'.repeat(200)),
)
const idArb = fc.oneof(
  fc.constantFrom(1, 127, 128, 255, 256, 65535, 65536, MAX_REQUEST_ID),
  fc.integer({ min: 1, max: MAX_REQUEST_ID }),
)
const bytesEnvelopeArb: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({
    kind: fc.constant('msg' as const),
    topic: topicArb.filter((t) => t.length > 0),
    payload: bytesArb,
  }),
  fc.record({
    kind: fc.constantFrom('req' as const, 'res' as const),
    topic: topicArb.filter((t) => t.length > 0),
    id: idArb,
    payload: bytesArb,
  }),
)

const withoutPayload = (e: Envelope): object => {
  const { payload: _, ...rest } = e as Envelope & { payload: unknown }
  return rest
}

const generalDecode = (bytes: Uint8Array): unknown => {
  try {
    return decodeValue(bytes)
  } catch {
    return THROWS
  }
}

/** Five-item arrays in the general codec, with every payload type the fast reader takes and others. */
const generalArb = fc
  .tuple(
    fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 300 })),
    fc.integer({ min: 0, max: 200 }),
    topicArb,
    fc.oneof(idArb, fc.constant(0), fc.integer({ min: -5, max: 5 }), fc.double()),
    fc.oneof(bytesArb, fc.constant(null), idArb, fc.jsonValue({ maxDepth: 1 })),
  )
  .map((items) => encodeValue(items))
const fastArb = fc
  .tuple(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 127 }), topicArb, idArb, bytesArb)
  .map(([v, k, t, i, p]) => encodeBytesEnvelope(v, k, t, i, p))
  .filter((b): b is Buffer => b !== undefined)
const anyInputArb = fc.oneof(
  generalArb,
  fastArb,
  mutatedBytes(generalArb),
  mutatedBytes(fastArb),
  splicedBytes(fastArb),
  fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.of(0x95, ...b)),
)

describe('node envelopes: the byte-payload fast paths (fuzz)', () => {
  it(
    'a fast-encoded envelope reads back, with the general codec, as the general encoding does',
    () => {
      fc.assert(
        fc.property(bytesEnvelopeArb, (e) => {
          const fast = encodeEnvelope(e, BIG)
          const p = e as Envelope & { topic: string; payload: Uint8Array; id?: number }
          const general = encodeValue([1, KIND[e.kind], p.topic, p.id ?? 0, p.payload])
          // payloads compared as bytes (a deep equal of 64 KiB buffers is slow)
          const [a, b] = [generalDecode(fast), generalDecode(general)] as unknown[][]
          expect(a?.slice(0, 4)).toEqual(b?.slice(0, 4))
          expect(Buffer.compare(a?.[4] as Buffer, b?.[4] as Buffer)).toBe(0)
          const { payload: fastPayload, ...fastRest } = decodeEnvelope(fast) as typeof p
          expect(fastRest).toEqual(withoutPayload(e))
          expect(Buffer.compare(fastPayload, p.payload)).toBe(0)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'the fast reader steps aside or agrees with the general codec, on any input',
    () => {
      let taken = 0
      fc.assert(
        fc.property(anyInputArb, (bytes) => {
          const fast = readBytesEnvelope(bytes)
          if (fast === undefined) return
          taken++
          const general = generalDecode(bytes)
          expect(general).not.toBe(THROWS)
          expect(fast).toEqual(general)
        }),
        fuzzParams(),
      )
      // the property says something only if the fast reader took a good share of the inputs
      expect(taken).toBeGreaterThan(fuzzParams().numRuns! / 10)
    },
    fuzzTimeoutMs(),
  )

  it('a reader that repeats a topic keeps it apart from a different one of the same length', () => {
    const a = encodeEnvelope({ kind: 'msg', topic: 'abcd', payload: new Uint8Array([1]) }, BIG)
    const b = encodeEnvelope({ kind: 'msg', topic: 'abce', payload: new Uint8Array([2]) }, BIG)
    expect(readBytesEnvelope(a)?.[2]).toBe('abcd')
    expect(readBytesEnvelope(b)?.[2]).toBe('abce')
    expect(readBytesEnvelope(a)?.[2]).toBe('abcd')
  })

  it('the payload is a view of the frame (no copy), as the general codec gives it', () => {
    const frame = encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(1000).fill(9) }, BIG)
    const payload = readBytesEnvelope(frame)?.[4] as Buffer
    expect(Buffer.isBuffer(payload)).toBe(true)
    expect(payload.buffer).toBe(frame.buffer)
    expect(payload.byteLength).toBe(1000)
  })
})

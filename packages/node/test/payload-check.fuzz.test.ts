// Fuzz: payloads of send/request/answers. Invariant: a payload is either refused with an
// EncodeError before anything is sent, or it arrives as it was sent, up to the documented
// normalizations (bytes arrive as a Buffer, a Uint8Array subclass; an object without prototype as a
// plain object; array holes as undefined; -0 as 0). Nothing changes or vanishes silently.

import { isDeepStrictEqual } from 'node:util'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../src/envelope.js'
import { EncodeError } from '../src/errors.js'

const BIG = 64 * 1024 * 1024

/** The value as the receiver may see it: the documented normalizations applied. */
function normal(value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array) return { bytes: [...value] }
  if (value instanceof Date) return value
  if (Array.isArray(value)) return Array.from(value, normal)
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value // compared as it is, prototype included
  const plain: Record<string, unknown> = {}
  for (const key of Object.keys(value)) plain[key] = normal((value as Record<string, unknown>)[key])
  return plain
}

/** What a sender might hand to send(): any value, with the kinds MessagePack cannot carry. */
const payloadArb = fc
  .oneof(
    fc.anything({
      maxDepth: 3,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withDate: true,
      withBigInt: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withSparseArray: true,
    }),
    fc.constantFrom<unknown>(
      () => 1,
      Symbol('s'),
      Promise.resolve(1),
      new Error('x'),
      /x/g,
      new ArrayBuffer(2),
      new DataView(new ArrayBuffer(2)),
      new WeakMap(),
    ),
  )
  .chain((inner) => fc.constantFrom(inner, [inner], { a: inner }, { a: [1, { b: inner }] }))
  // msgpackr renames an own `__proto__` key (its guard against prototype pollution; see fuzzing.md)
  .filter((v) => !JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? 0 : x))?.includes('"__proto__"'))

describe('payloads (fuzz)', () => {
  it(
    'arrive as sent, or are refused with an EncodeError before anything is sent',
    () => {
      let refused = 0
      fc.assert(
        fc.property(payloadArb, (payload) => {
          let bytes: Uint8Array
          try {
            bytes = encodeEnvelope({ kind: 'msg', topic: 't', payload }, BIG)
          } catch (error) {
            if (!(error instanceof EncodeError)) throw error
            refused++
            return
          }
          const back = decodeEnvelope(bytes)
          expect(back.kind).toBe('msg')
          const arrived = (back as { payload: unknown }).payload
          expect(isDeepStrictEqual(normal(arrived), normal(payload))).toBe(true)
        }),
        fuzzParams(),
      )
      expect(refused).toBeGreaterThan(0)
    },
    fuzzTimeoutMs(),
  )
})

// Fuzz: describeValue, the describer of wrong values in error messages, gets anything a user, a
// file or the network can give (nested objects, odd prototypes, control characters in keys and
// strings, huge arrays). Invariants: it never throws, its answer is short, and it holds no control
// character (it ends up in logs and terminals). See docs/fuzzing.md.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { describeValue, quote } from '../src/internal.js'

/** Longest answer: a cut string (60 characters, escaped at most 6 each) or five cut keys. */
const MAX_ANSWER = 60 * 6 + 16

describe('describeValue (fuzz)', () => {
  it(
    'never throws, stays short and holds no control character',
    () => {
      const values = fc.oneof(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
        }),
        fc.string({ unit: 'binary', maxLength: 500 }),
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 80 }), fc.anything(), { maxKeys: 20 }),
        fc.array(fc.anything(), { maxLength: 50 }),
      )
      fc.assert(
        fc.property(values, (value) => {
          const answer = describeValue(value)
          expect(answer.length).toBeLessThanOrEqual(MAX_ANSWER)
          expect(answer).not.toMatch(/\p{Cc}/u)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'quote never throws and holds no control character',
    () => {
      const values = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.anything({ withBigInt: true, withMap: true, withNullPrototype: true }),
      )
      fc.assert(
        fc.property(values, (value) => {
          expect(quote(value)).not.toMatch(/\p{Cc}/u)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

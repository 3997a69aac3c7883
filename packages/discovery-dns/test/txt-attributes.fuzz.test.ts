// Issue 12 item 13: property tests for TXT attributes (text from any DNS server). Invariants: no
// throw, bounded time per input, limits hold, and attributes round-trip.
import { DEFAULT_RECORD_LIMITS, isNodeId } from '@peer/discovery-core'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { withinCaseBound } from '@peer/testkit/fuzz-inputs'
import { testId } from '@peer/testkit/ids'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { identify, parseTxtAttributes } from '../src/index.js'
import { TXT_KEY } from '../src/wire/index.js'

const MAX_MS_PER_INPUT = 1000
const limits = {
  maxMetaEntries: 4,
  maxMetaKeyLength: 16,
  maxMetaValueLength: 32,
}
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const txtStrings = fc.array(
  fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })),
  {
    maxLength: 40,
  },
)
const id = testId('fuzz-txt')
/** A string the parser keeps: a valid key, `=`, a value without control characters. */
const validPair = (s: string) => {
  const eq = s.indexOf('=')
  return eq > 0 && TXT_KEY.test(s.slice(0, eq).toLowerCase()) && !CONTROL.test(s.slice(eq + 1))
}

describe('parseTxtAttributes', () => {
  it(
    'never throws; keys are lowercase, the first occurrence wins, the rest is counted',
    () => {
      fc.assert(
        fc.property(txtStrings, (strings) => {
          const { attributes, skipped } = withinCaseBound(() => parseTxtAttributes(strings), MAX_MS_PER_INPUT)
          expect(skipped).toBe(strings.filter((s) => s !== '' && !validPair(s)).length)
          for (const [key, value] of attributes) {
            expect(key).toBe(key.toLowerCase())
            const first = strings.find(
              (s) => validPair(s) && s.slice(0, s.indexOf('=')).toLowerCase() === key,
            )
            expect(first?.slice(first.indexOf('=') + 1)).toBe(value)
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'round-trips key=value attributes with distinct keys',
    () => {
      const key = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/)
      const value = fc.string({ maxLength: 40 })
      fc.assert(
        fc.property(fc.dictionary(key, value, { maxKeys: 10 }), (dict) => {
          const strings = Object.entries(dict).map(([k, v]) => `${k}=${v}`)
          expect(Object.fromEntries(parseTxtAttributes(strings).attributes)).toEqual({ ...dict })
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

describe('identify', () => {
  it(
    'returns an identity within the limits or a reason, for any TXT strings and target',
    () => {
      const target = fc.oneof(
        fc.constant(`${id}.peer.test`),
        fc.string({ maxLength: 80 }),
        fc.stringMatching(/^[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}$/),
      )
      const pairs = fc.array(
        fc
          .tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), fc.string({ maxLength: 40 }))
          .map(([k, v]) => `${k}=${v}`),
        { maxLength: 12 },
      )
      const withId = fc.oneof(
        txtStrings,
        txtStrings.map((s) => [`id=${id}`, ...s]),
        pairs.map((p) => [`id=${id}`, ...p]),
      )
      fc.assert(
        fc.property(
          target,
          fc.option(withId, { nil: undefined }),
          fc.constantFrom('txt', 'label', 'txt-or-label' as const),
          (t, txt, source) => {
            const result = withinCaseBound(() => identify(t, txt, source, limits), MAX_MS_PER_INPUT)
            if (typeof result === 'string') return
            expect(isNodeId(result.id)).toBe(true)
            const meta = Object.entries(result.meta ?? {})
            expect(meta.length).toBeLessThanOrEqual(limits.maxMetaEntries)
            for (const [k, v] of meta) {
              expect(k.length).toBeLessThanOrEqual(limits.maxMetaKeyLength)
              expect(v.length).toBeLessThanOrEqual(limits.maxMetaValueLength)
              expect(CONTROL.test(v)).toBe(false)
              expect(['id', 'name']).not.toContain(k)
            }
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it('keeps the default limits with large inputs', () => {
    const strings = Array.from({ length: 500 }, (_, i) => `k${i}=${'v'.repeat(300)}`)
    const small = Array.from({ length: 500 }, (_, i) => `k${i}=v`)
    expect(identify(`${id}.peer.test`, strings, 'label', DEFAULT_RECORD_LIMITS)).toEqual({
      id,
      name: undefined,
      meta: undefined,
    })
    const result = identify(`${id}.peer.test`, small, 'txt-or-label', DEFAULT_RECORD_LIMITS)
    expect(typeof result !== 'string' && Object.keys(result.meta ?? {}).length).toBe(
      DEFAULT_RECORD_LIMITS.maxMetaEntries,
    )
  })
})

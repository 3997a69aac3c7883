// Fuzz: service lists read from the network (the `services` meta value of any record). Invariants:
// decodeServiceList never throws, returns only valid names (sorted, unique, at most MAX_SERVICES),
// counts what it drops, and round-trips every list encodeServiceList produces. See docs/fuzzing.md.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { mutatedText, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeServiceList,
  encodeServiceList,
  isServiceName,
  MAX_SERVICE_LIST_LENGTH,
  MAX_SERVICES,
} from '../src/index.js'

const nameArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/)
const listArb = fc
  .uniqueArray(nameArb, { maxLength: 10 })
  .filter((l) => l.join(',').length <= MAX_SERVICE_LIST_LENGTH)

function check(input: unknown): void {
  const result = withinCaseBound(() => decodeServiceList(input))
  expect(result.services.length).toBeLessThanOrEqual(MAX_SERVICES)
  for (const s of result.services) expect(isServiceName(s)).toBe(true)
  expect([...result.services].sort()).toEqual(result.services)
  expect(new Set(result.services).size).toBe(result.services.length)
  if (result.droppedList) expect(result.services).toEqual([])
  if (typeof input === 'string' && !result.droppedList && input !== '') {
    // every entry is either kept (perhaps as a duplicate) or counted as dropped
    const entries = input.split(',')
    expect(entries.filter((e) => isServiceName(e)).length + result.droppedNames).toBe(entries.length)
  }
}

describe('service list fuzz', () => {
  it('decodes any string without throwing', { timeout: fuzzTimeoutMs() }, () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), check), fuzzParams())
  })

  it('decodes mutated valid lists without throwing', { timeout: fuzzTimeoutMs() }, () => {
    const valid = listArb.map((l) => l.join(','))
    fc.assert(fc.property(mutatedText(valid), check), fuzzParams())
  })

  it('decodes any JSON value without throwing', { timeout: fuzzTimeoutMs() }, () => {
    fc.assert(fc.property(fc.jsonValue(), check), fuzzParams())
  })

  it('round-trips what encodeServiceList produces', { timeout: fuzzTimeoutMs() }, () => {
    fc.assert(
      fc.property(listArb, (names) => {
        const value = encodeServiceList(names)
        const decoded = decodeServiceList(value)
        expect(decoded.services).toEqual([...names].sort())
        expect(decoded.droppedNames).toBe(0)
        expect(decoded.droppedList).toBe(false)
      }),
      fuzzParams(),
    )
  })
})

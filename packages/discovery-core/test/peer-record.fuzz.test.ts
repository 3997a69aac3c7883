// Fuzz: peer records validated from packets, files and etcd values (validatePeerRecord and
// parsePeerRecord). Invariants: only InvalidPeerRecordError with a path naming a field of the input;
// parsePeerRecord never throws; an accepted record is frozen, clean and validates to itself (JSON
// round trip); bounded time. See docs/fuzzing.md.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { localPeerArb } from '@peer/testkit/fuzz-arbitraries'
import {
  fieldReplaced,
  mutatedText,
  parseOrDocumentedError,
  withinCaseBound,
} from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_RECORD_LIMITS,
  hostProblem,
  InvalidPeerRecordError,
  isNodeId,
  isNodeName,
  isValidPort,
  type PeerRecord,
  parsePeerRecord,
  sameRecord,
  undialableHostProblem,
  validateLocalPeer,
  validatePeerRecord,
} from '../src/index.js'

const FIELDS = /^(|id|source|name|ttl|meta(\..*)?|addresses(\[\d+\](\.(host|port))?)?)$/

const recordArb = fc
  .tuple(
    localPeerArb,
    fc.stringMatching(/^[a-z0-9][a-z0-9._:-]{0,20}$/),
    fc.option(fc.nat({ max: 7 * 24 * 3600 })),
  )
  .map(([peer, source, ttl]) => ({ ...peer, source, ...(ttl === null ? {} : { ttl }) }))

/** A valid record with one field replaced by an arbitrary JSON value (or removed). */
const fieldMutatedArb = fieldReplaced(recordArb, [
  'id',
  'source',
  'name',
  'addresses',
  'meta',
  'ttl',
  'addresses.0',
  'addresses.0.host',
  'addresses.0.port',
  'meta.k',
])

function check(input: unknown): PeerRecord | undefined {
  const result = withinCaseBound(() =>
    parseOrDocumentedError(() => validatePeerRecord(input), InvalidPeerRecordError),
  )
  const parsed = parsePeerRecord(input)
  expect(parsed.ok).toBe(result.ok)
  if (!result.ok) {
    expect(result.error.path).toMatch(FIELDS)
    expect(result.error.message).toMatch(/^invalid peer record: /)
    return undefined
  }
  const record = result.value
  expect(Object.isFrozen(record)).toBe(true)
  expect(Object.isFrozen(record.addresses)).toBe(true)
  expect(isNodeId(record.id)).toBe(true)
  if (record.name !== undefined) expect(isNodeName(record.name)).toBe(true)
  expect(record.addresses.length).toBeLessThanOrEqual(DEFAULT_RECORD_LIMITS.maxAddresses)
  for (const a of record.addresses) {
    expect(hostProblem(a.host)).toBeUndefined()
    expect(undialableHostProblem(a.host)).toBeUndefined()
    expect(a.host.startsWith('[')).toBe(false)
    expect(isValidPort(a.port)).toBe(true)
  }
  // nothing is kept by reference, and the clean record validates to itself (also through JSON)
  expect(record).not.toBe(input)
  const again = validatePeerRecord(JSON.parse(JSON.stringify(record)))
  expect(again).toEqual(record)
  expect(sameRecord(again, record)).toBe(true)
  return record
}

describe('peer records (fuzz)', () => {
  it(
    'valid records round-trip through JSON unchanged',
    () => {
      fc.assert(
        fc.property(recordArb, (input) => {
          const record = check(JSON.parse(JSON.stringify(input)))
          expect(record).toBeDefined()
          expect(record!.id).toBe(input.id)
          expect(record!.name).toBe(input.name)
          expect(record!.addresses).toEqual(input.addresses)
          expect({ ...record!.meta }).toEqual(input.meta ?? {})
          expect(record!.ttl).toBe(input.ttl)
          const local = validateLocalPeer(input)
          expect(sameRecord(local, { ...record!, ttl: undefined })).toBe(true)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a field replaced by any JSON value: a clean record or InvalidPeerRecordError naming a field',
    () => {
      fc.assert(
        fc.property(fieldMutatedArb, (input) => void check(input)),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated JSON text and arbitrary values: a clean record or InvalidPeerRecordError',
    () => {
      const text = mutatedText(recordArb.map((r) => JSON.stringify(r)))
      const input = fc.oneof(
        text.map((t) => {
          try {
            return JSON.parse(t) as unknown
          } catch {
            return t
          }
        }),
        fc.anything(),
      )
      fc.assert(
        fc.property(input, (value) => void check(value)),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

// Property tests for everything discovery-etcd reads from etcd (keys and values written by anyone)
// and for the key layout built from a configured prefix: no throw (bad input is `{ ok: false }`
// with a short reason), bounded time on hostile input, and valid announcements round-trip.
// Seeded and reproducible: PEER_FUZZ_RUNS / PEER_FUZZ_SEED (see @peer/testkit/fuzz).
import {
  type LocalPeer,
  sameRecord,
  undialableHostProblem,
  validateLocalPeer,
  validatePeerRecord,
} from '@peer/discovery-core'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_VALUE_BYTES,
  decodeNodeValue,
  encodeNodeValue,
  idFromKey,
  nodeKey,
  nodesPrefix,
  normalizePrefix,
} from '../src/index.js'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'.split('')
const nodeIdArb = fc
  .tuple(fc.array(fc.constantFrom(...BASE32), { minLength: 51, maxLength: 51 }), fc.constantFrom('a', 'q'))
  .map(([head, last]) => head.join('') + last)
const prefixArb = fc.oneof(
  fc.constantFrom('/peer', '/peer/', '', '/', 'x//', '/a/b/c'),
  fc.string({ maxLength: 40 }),
)
const hostArb = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constant('localhost'))
// a record's addresses: hosts a peer can be dialed at (records with others are refused)
const dialableHostArb = hostArb.filter((host) => undialableHostProblem(host) === undefined)
const portArb = fc.integer({ min: 1, max: 65_535 })
const localPeerArb: fc.Arbitrary<LocalPeer> = fc
  .record(
    {
      id: nodeIdArb,
      name: fc.oneof(
        fc.constant(undefined),
        fc
          .tuple(fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/), hostArb)
          .map(([app, host]) => `${app}@${host}`),
        fc.tuple(portArb, fc.ipV4()).map(([port, ip]) => `${port}@${ip}`),
      ),
      addresses: fc.array(fc.record({ host: dialableHostArb, port: portArb }), { maxLength: 6 }),
      meta: fc.oneof(
        fc.constant(undefined),
        fc.dictionary(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/), fc.string({ maxLength: 40 }), {
          maxKeys: 5,
        }),
      ),
    },
    { requiredKeys: ['id', 'addresses'] },
  )
  .map((raw) => {
    try {
      return validateLocalPeer(raw)
    } catch {
      return undefined
    }
  })
  .filter((peer): peer is LocalPeer => peer !== undefined)

const anything = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined))
/** Values shaped like a node value, with any field replaced by junk now and then. */
function nearValueArb(id: string): fc.Arbitrary<unknown> {
  return fc.record(
    {
      v: fc.oneof(fc.constant(1), anything),
      id: fc.oneof(fc.constant(id), nodeIdArb, anything),
      name: fc.oneof(fc.constant('app@host'), anything),
      addresses: fc.oneof(
        fc.array(
          fc.record(
            { host: fc.oneof(hostArb, anything), port: fc.oneof(portArb, anything) },
            { requiredKeys: [] },
          ),
          { maxLength: 20 },
        ),
        anything,
      ),
      meta: fc.oneof(fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string(), anything)), anything),
    },
    { requiredKeys: [] },
  )
}

const encoder = new TextEncoder()
const decode = (keyPrefix: string, key: string, value: Uint8Array) =>
  decodeNodeValue(keyPrefix, key, value, { source: 'etcd' })

/** The documented outcome: never a throw; `{ ok: false }` with a short reason, or a valid record for the key's id. */
function checkOutcome(keyPrefix: string, key: string, value: Uint8Array): void {
  const result = decode(keyPrefix, key, value)
  if (result.ok) {
    expect(result.record.id).toBe(idFromKey(keyPrefix, key))
    expect(result.record.source).toBe('etcd')
    expect(() => validatePeerRecord(result.record)).not.toThrow()
  } else {
    expect(typeof result.reason).toBe('string')
    expect(result.reason.length).toBeGreaterThan(0)
    expect(result.reason.length).toBeLessThan(600)
  }
}

describe('decodeNodeValue (values and keys read from etcd)', () => {
  it(
    'valid announcements round-trip through encodeNodeValue, under any prefix',
    () => {
      fc.assert(
        fc.property(prefixArb, localPeerArb, (prefix, peer) => {
          const value = encoder.encode(encodeNodeValue(peer))
          const result = decode(nodesPrefix(prefix), nodeKey(prefix, peer.id), value)
          expect(result.ok).toBe(true)
          if (result.ok) {
            expect(sameRecord(result.record, peer)).toBe(true)
            expect(result.record.source).toBe('etcd')
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'arbitrary bytes under any key: no throw, a short reason or a valid record',
    () => {
      fc.assert(
        fc.property(
          prefixArb,
          fc.oneof(nodeIdArb, fc.string({ maxLength: 80 })),
          fc.uint8Array({ maxLength: 512 }),
          (prefix, tail, bytes) => {
            checkOutcome(nodesPrefix(prefix), `${nodesPrefix(prefix)}${tail}`, bytes)
            checkOutcome(nodesPrefix(prefix), tail, bytes)
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'values shaped like node values, with junk fields and flipped bytes: no throw, the right verdict',
    () => {
      fc.assert(
        fc.property(
          nodeIdArb.chain((id) => fc.tuple(fc.constant(id), nearValueArb(id))),
          fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
          ([id, value], flip) => {
            const text = JSON.stringify(value) ?? 'undefined'
            const bytes = encoder.encode(text)
            if (flip !== undefined && bytes.length > 0) bytes[flip[0] % bytes.length] = flip[1]
            checkOutcome(nodesPrefix('/p'), nodeKey('/p', id), bytes)
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'reads only its view of a larger buffer (etcd3 hands out slices of one message buffer)',
    () => {
      fc.assert(
        fc.property(
          localPeerArb,
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }),
          (peer, before, after) => {
            const value = encoder.encode(encodeNodeValue(peer))
            const whole = new Uint8Array(before.length + value.length + after.length)
            whole.set(before, 0)
            whole.set(value, before.length)
            whole.set(after, before.length + value.length)
            const view = whole.subarray(before.length, before.length + value.length)
            const result = decode(nodesPrefix('/p'), nodeKey('/p', peer.id), view)
            expect(result.ok && sameRecord(result.record, peer)).toBe(true)
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it('hostile values up to the size limit (deep nesting, huge arrays, long strings) are rejected in bounded time', () => {
    const id = 'a'.repeat(52)
    const key = nodeKey('/p', id)
    const limit = DEFAULT_MAX_VALUE_BYTES
    const hostile = [
      '['.repeat(limit),
      `${'['.repeat(limit / 2 - 1)}${']'.repeat(limit / 2 - 1)}`,
      `{"v":1,"id":"${id}","addresses":${'['.repeat(limit - 200)}`,
      `{"v":1,"id":"${id}","meta":${'{"a":'.repeat(2500)}"x"${'}'.repeat(2500)}}`,
      `{"v":1,"id":"${id}","addresses":[${'{"host":"127.0.0.1","port":1},'.repeat(500)}{}]}`,
      `{"v":1,"id":"${id}","addresses":[],"meta":{${Array.from({ length: 1200 }, (_, i) => `"k${i}":"v"`).join(',')}}}`,
      `{"v":1,"id":"${id}","addresses":[],"name":"${'a'.repeat(limit - 100)}"}`,
      `{"v":${'9'.repeat(limit - 20)}}`,
      `"${'\\u0000'.repeat(limit / 6 - 1)}"`,
    ]
    for (const text of hostile) {
      const bytes = encoder.encode(text)
      expect(bytes.length).toBeLessThanOrEqual(limit)
      // a hang detector, not a performance target: each decode is ~1 ms; a second means runaway work
      const result = withinCaseBound(() => decode(nodesPrefix('/p'), key, bytes), 1000)
      expect(result.ok).toBe(false)
    }
    // a valid value padded to one byte over the limit is refused before it is parsed
    const valid = `{"v":1,"id":"${id}","addresses":[]}`
    const over = encoder.encode(valid + ' '.repeat(limit + 1 - valid.length))
    expect(decode(nodesPrefix('/p'), key, over)).toMatchObject({ ok: false })
    expect(decode(nodesPrefix('/p'), key, over.subarray(1, limit + 1)).ok).toBe(false) // not JSON any more
    expect(decode(nodesPrefix('/p'), key, over.subarray(0, limit)).ok).toBe(true)
  })
})

describe('the key layout from a configured prefix', () => {
  it(
    'idFromKey gives back exactly the ids nodeKey wrote, and nothing for other keys',
    () => {
      fc.assert(
        fc.property(prefixArb, nodeIdArb, fc.string({ maxLength: 60 }), (prefix, id, other) => {
          const keyPrefix = nodesPrefix(prefix)
          expect(idFromKey(keyPrefix, nodeKey(prefix, id))).toBe(id)
          const found = idFromKey(keyPrefix, other)
          if (found !== undefined) expect(other).toBe(`${keyPrefix}${found}`)
          expect(idFromKey(keyPrefix, `${keyPrefix}${id}x`)).toBeUndefined()
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'normalizePrefix drops trailing slashes only, is idempotent, and is linear in the input',
    () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 40 }), fc.nat({ max: 50 }), (base, slashes) => {
          const prefix = base + '/'.repeat(slashes)
          const out = normalizePrefix(prefix)
          expect(out.endsWith('/')).toBe(false)
          expect(normalizePrefix(out)).toBe(out)
          expect(prefix.startsWith(out)).toBe(true)
          expect(/^\/*$/.test(prefix.slice(out.length))).toBe(true)
          expect(nodesPrefix(prefix)).toBe(`${out}/nodes/`)
        }),
        fuzzParams(),
      )
      // a prefix of many slashes (a config typo) must not take quadratic time
      expect(withinCaseBound(() => normalizePrefix(`/a${'/'.repeat(200_000)}`), 1000)).toBe('/a')
    },
    fuzzTimeoutMs(),
  )
})

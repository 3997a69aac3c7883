// Fuzz: static peer lists from files and environment variables (parsePeerListText,
// validatePeerList, parseHostPort). Invariants: only StaticConfigError, whose message starts with
// where the list came from and names the entry; every accepted peer is a clean LocalPeer; a valid
// list round-trips (format -> parse); bounded time. See docs/fuzzing.md.

import { formatHostPort, InvalidPeerRecordError, sameRecord, validateLocalPeer } from '@peer/discovery-core'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { addressArb, localPeerArb } from '@peer/testkit/fuzz-arbitraries'
import { mutatedText, parseOrDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseHostPort, parsePeerListText, StaticConfigError, validatePeerList } from '../src/index.js'

const WHERE = 'file peers.json'

type Peer = {
  id: string
  name?: string
  addresses: Array<{ host: string; port: number }>
  meta?: Record<string, string>
}

/** Peers with distinct ids; each address written as an object or as a `host:port` string. */
const listArb = fc
  .uniqueArray(localPeerArb, { maxLength: 6, selector: (p) => p.id })
  .chain((peers) =>
    fc.tuple(
      fc.constant(peers as Peer[]),
      fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
      fc.boolean(),
    ),
  )
  .map(([peers, asString, wrapped]) => {
    let k = 0
    const written = peers.map((p) => ({
      ...p,
      addresses: p.addresses.map((a) => (asString[k++ % 64] ? formatHostPort(a.host, a.port) : a)),
    }))
    return { peers, text: JSON.stringify(wrapped ? { version: 1, peers: written } : written) }
  })

function check(text: string) {
  const result = withinCaseBound(() =>
    parseOrDocumentedError(() => parsePeerListText(text, WHERE), StaticConfigError),
  )
  if (!result.ok) {
    const error = result.error
    expect(error.where).toBe(WHERE)
    expect(error.message.startsWith(`${WHERE}: `)).toBe(true)
    if (error.cause instanceof InvalidPeerRecordError) {
      // `<where>: peers[i].<path>: <reason>`, the path said once
      const cause = error.cause
      const reason = cause.message.slice(`invalid peer record: ${cause.path ? `${cause.path}: ` : ''}`.length)
      expect(error.message).toMatch(/^file peers\.json: peers\[\d+\]/)
      expect(error.message.endsWith(`${cause.path ? `.${cause.path}` : ''}: ${reason}`)).toBe(true)
    }
    return undefined
  }
  for (const [id, peer] of result.value) {
    expect(peer.id).toBe(id)
    const again = validateLocalPeer(JSON.parse(JSON.stringify(peer)))
    expect(sameRecord(again, peer)).toBe(true)
  }
  return result.value
}

describe('static peer lists (fuzz)', () => {
  it('names a bad meta key once (found by the fuzzer: keys with whitespace were named twice)', () => {
    const text = JSON.stringify([{ id: 'a'.repeat(52), addresses: [], meta: { 'a b': 'v', '\ufeffx': 'v' } }])
    expect(() => parsePeerListText(text, WHERE)).toThrow(
      `${WHERE}: peers[0].meta.a b: keys are 1-64 of [A-Za-z0-9._-]`,
    )
    expect(() => parsePeerListText(text, WHERE)).not.toThrow('meta.a b: meta.a b')
  })

  it(
    'host:port strings round-trip through parseHostPort',
    () => {
      fc.assert(
        fc.property(addressArb, ({ host, port }) => {
          expect(parseHostPort(formatHostPort(host, port))).toEqual({ host, port })
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a valid list (array or { version, peers }) round-trips',
    () => {
      fc.assert(
        fc.property(listArb, ({ peers, text }) => {
          const parsed = check(text)
          expect(parsed).toBeDefined()
          expect([...parsed!.keys()]).toEqual(peers.map((p) => p.id))
          for (const p of peers) {
            const got = parsed!.get(p.id)!
            expect(got.name).toBe(p.name)
            expect(got.addresses).toEqual(p.addresses)
            expect({ ...got.meta }).toEqual(p.meta ?? {})
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated list text: clean peers or a StaticConfigError naming the source and entry',
    () => {
      fc.assert(
        fc.property(
          mutatedText(
            listArb.map((l) => l.text),
            6,
          ),
          (text) => void check(text),
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'arbitrary JSON values and address strings: clean peers or StaticConfigError',
    () => {
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.array(
          fc.record({
            id: fc.oneof(
              localPeerArb.map((p) => p.id),
              fc.string(),
            ),
            addresses: fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })), {
              maxLength: 3,
            }),
          }),
          { maxLength: 3 },
        ),
      )
      fc.assert(
        fc.property(value, (v) => {
          check(JSON.stringify(v) ?? 'null')
          const direct = withinCaseBound(() =>
            parseOrDocumentedError(() => validatePeerList(v, WHERE), StaticConfigError),
          )
          if (direct.ok) expect(direct.value.size).toBeLessThanOrEqual(Array.isArray(v) ? v.length : Infinity)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

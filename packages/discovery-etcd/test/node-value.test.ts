// The documented key layout and value codec, without etcd.
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import {
  decodeNodeValue,
  encodeNodeValue,
  idFromKey,
  NODE_VALUE_VERSION,
  nodeKey,
  nodesPrefix,
  normalizePrefix,
} from '../src/index.js'

const id = testId('codec')
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))
const decode = (value: Uint8Array, key = nodeKey('/p', id), maxValueBytes?: number) =>
  decodeNodeValue(nodesPrefix('/p'), key, value, { source: 'etcd', maxValueBytes })

describe('key layout', () => {
  it('puts nodes under <prefix>/nodes/<id> and normalises trailing slashes', () => {
    expect(normalizePrefix('/peer//')).toBe('/peer')
    expect(nodesPrefix('/peer/')).toBe('/peer/nodes/')
    expect(nodeKey('/peer', id)).toBe(`/peer/nodes/${id}`)
    expect(idFromKey('/peer/nodes/', `/peer/nodes/${id}`)).toBe(id)
    expect(idFromKey('/peer/nodes/', '/peer/nodes/short')).toBeUndefined()
    expect(idFromKey('/peer/nodes/', `/other/nodes/${id}`)).toBeUndefined()
  })
})

describe('value codec', () => {
  it('round-trips what a node announces', () => {
    const self = { id, name: 'a@b', addresses: [{ host: '10.0.0.1', port: 4000 }], meta: { k: 'v' } }
    const json = encodeNodeValue(self)
    expect(JSON.parse(json)).toEqual({ v: NODE_VALUE_VERSION, ...self })
    const out = decode(enc(json))
    expect(out).toEqual({ ok: true, record: { ...self, source: 'etcd' } })
  })

  it('omits name and meta when absent and accepts an empty address list', () => {
    expect(JSON.parse(encodeNodeValue({ id, addresses: [] }))).toEqual({ v: 1, id, addresses: [] })
    expect(decode(enc({ v: 1, id, addresses: [] })).ok).toBe(true)
  })

  it('ignores unknown fields and a ttl written by others', () => {
    const out = decode(enc({ v: 1, id, addresses: [], ttl: 5, zone: 'x' }))
    expect(out.ok && out.record).toEqual({ id, addresses: [], source: 'etcd' })
  })

  const bad: Array<[string, Uint8Array, string?]> = [
    ['not JSON', enc('{')],
    ['invalid UTF-8 / binary', new Uint8Array([0xff, 0xfe, 0x00])],
    ['JSON null', enc('null')],
    ['an array', enc('[]')],
    ['version 2', enc({ v: 2, id, addresses: [] })],
    ['version as a string', enc({ v: '1', id, addresses: [] })],
    ['an id that differs from the key', enc({ v: 1, id: testId('other'), addresses: [] })],
    ['missing addresses', enc({ v: 1, id })],
    ['a host with spaces', enc({ v: 1, id, addresses: [{ host: 'a b', port: 1 }] })],
    ['port 0', enc({ v: 1, id, addresses: [{ host: 'a', port: 0 }] })],
    ['a meta value with control characters', enc({ v: 1, id, addresses: [], meta: { a: 'x\u0001' } })],
  ]
  for (const [what, value] of bad) {
    it(`rejects ${what} with a reason`, () => {
      const out = decode(value)
      expect(out.ok).toBe(false)
      expect(!out.ok && out.reason.length).toBeGreaterThan(0)
    })
  }

  it('rejects a value above maxValueBytes before parsing it', () => {
    const out = decode(enc({ v: 1, id, addresses: [], pad: 'x'.repeat(100) }), undefined, 64)
    expect(out).toEqual({ ok: false, reason: expect.stringMatching(/exceeds 64/) })
  })

  it('rejects a key that does not end in a node id', () => {
    expect(decode(enc({ v: 1, id, addresses: [] }), '/p/nodes/x').ok).toBe(false)
  })
})

import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import {
  InvalidPeerRecordError,
  parsePeerRecord,
  undialableHostProblem,
  validateLocalPeer,
  validatePeerRecord,
} from '../src/index.js'

const id = testId('record')
const good = { id, name: 'app@box', addresses: [{ host: '127.0.0.1', port: 4000 }], source: 'static' }

describe('validatePeerRecord', () => {
  it('returns a clean frozen copy and ignores unknown fields', () => {
    const input = { ...good, meta: { zone: 'a' }, ttl: 30, extra: 'x' }
    const record = validatePeerRecord(input)
    expect(record).toEqual({ ...good, meta: { zone: 'a' }, ttl: 30 })
    expect(Object.isFrozen(record)).toBe(true)
    expect(Object.isFrozen(record.addresses[0])).toBe(true)
    input.addresses[0]!.port = 1
    expect(record.addresses[0]!.port).toBe(4000)
  })

  it('accepts IPv6 (bracketed or not) and host names, dropping duplicate addresses', () => {
    const record = validatePeerRecord({
      ...good,
      addresses: [
        { host: '[::1]', port: 1 },
        { host: '::1', port: 1 },
        { host: 'node-1.example.test', port: 2 },
      ],
    })
    expect(record.addresses).toEqual([
      { host: '::1', port: 1 },
      { host: 'node-1.example.test', port: 2 },
    ])
  })

  it.each([
    ['not an object', 'x', ''],
    ['an array', [], ''],
    ['a missing id', { ...good, id: undefined }, 'id'],
    ['a bad id', { ...good, id: 'nope' }, 'id'],
    ['a missing source', { ...good, source: undefined }, 'source'],
    ['a bad name', { ...good, name: 'no at sign' }, 'name'],
    ['addresses not an array', { ...good, addresses: 'x' }, 'addresses'],
    ['an address not an object', { ...good, addresses: [7] }, 'addresses[0]'],
    ['port 0', { ...good, addresses: [{ host: 'a', port: 0 }] }, 'addresses[0].port'],
    ['port 65536', { ...good, addresses: [{ host: 'a', port: 65536 }] }, 'addresses[0].port'],
    ['a fractional port', { ...good, addresses: [{ host: 'a', port: 1.5 }] }, 'addresses[0].port'],
    ['a string port', { ...good, addresses: [{ host: 'a', port: '80' }] }, 'addresses[0].port'],
    ['an empty host', { ...good, addresses: [{ host: '', port: 1 }] }, 'addresses[0].host'],
    [
      'a host with control characters',
      { ...good, addresses: [{ host: 'a\nb', port: 1 }] },
      'addresses[0].host',
    ],
    ['a bad IPv4 host', { ...good, addresses: [{ host: '1.2.3.999', port: 1 }] }, 'addresses[0].host'],
    [
      'too many addresses',
      { ...good, addresses: Array.from({ length: 17 }, (_, i) => ({ host: 'a', port: i + 1 })) },
      'addresses',
    ],
    ['meta not an object', { ...good, meta: 'x' }, 'meta'],
    ['a non-string meta value', { ...good, meta: { a: 1 } }, 'meta.a'],
    ['a meta value with control characters', { ...good, meta: { a: 'x\u0007' } }, 'meta.a'],
    ['an oversized meta value', { ...good, meta: { a: 'x'.repeat(256) } }, 'meta.a'],
    ['a bad meta key', { ...good, meta: { 'a b': 'x' } }, 'meta.a b'],
    [
      'too many meta entries',
      { ...good, meta: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
      'meta',
    ],
    ['a negative ttl', { ...good, ttl: -1 }, 'ttl'],
    ['an infinite ttl', { ...good, ttl: Number.POSITIVE_INFINITY }, 'ttl'],
    ['a huge ttl', { ...good, ttl: 10 ** 9 }, 'ttl'],
  ])('rejects %s with the field path', (_what, input, path) => {
    let caught: unknown
    try {
      validatePeerRecord(input)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidPeerRecordError)
    expect((caught as InvalidPeerRecordError).path).toBe(path)
    expect(parsePeerRecord(input).ok).toBe(false)
  })

  it('refuses an address no peer can be dialed at, naming the field; a local announcement may say "every interface"', () => {
    const at = (host: string) => ({
      ...good,
      addresses: [
        { host: '127.0.0.1', port: 1 },
        { host, port: 2 },
      ],
    })
    const undialable = [
      '0.0.0.0',
      '::',
      '[::]',
      '0:0::0',
      '0.1.2.3',
      '224.0.0.251',
      '239.255.255.250',
      '255.255.255.255',
      'ff02::fb',
      '[ff05::2]',
      '::ffff:0.0.0.0',
      '::ffff:224.0.0.1',
    ]
    for (const host of undialable) {
      expect(() => validatePeerRecord(at(host)), host).toThrow(
        expect.objectContaining({ name: 'InvalidPeerRecordError', path: 'addresses[1].host' }),
      )
      expect(undialableHostProblem(host), host).toMatch(/is the unspecified address|is a multicast/)
    }
    expect(() => validatePeerRecord(at('0.0.0.0'))).toThrow(
      "addresses[1].host: 0.0.0.0 is the unspecified address: a listener binds it, but a dial to it reaches the dialer's own host",
    )
    expect(() => validatePeerRecord(at('224.0.0.251'))).toThrow(
      'addresses[1].host: 224.0.0.251 is a multicast, broadcast or "this network" address: no peer can be dialed at it',
    )
    for (const host of [
      '127.0.0.1',
      '10.0.0.1',
      '223.255.255.255',
      '240.0.0.1',
      '::1',
      'fe80::1%eth0',
      '::ffff:10.0.0.1',
      'localhost',
      'node-1.example.test',
    ]) {
      expect(undialableHostProblem(host), host).toBeUndefined()
      expect(validatePeerRecord(at(host)).addresses).toHaveLength(2)
    }
    // what a node announces may carry the unspecified address (mDNS publishes each interface's own)
    const { source: _s, ...local } = at('0.0.0.0')
    expect(validateLocalPeer(local).addresses[1]).toEqual({ host: '0.0.0.0', port: 2 })
    expect(validateLocalPeer({ ...local, addresses: [{ host: '::', port: 2 }] }).addresses).toHaveLength(1)
    expect(() => validateLocalPeer({ ...local, addresses: [{ host: 'ff02::fb', port: 2 }] })).toThrow(
      /multicast/,
    )
  })

  it('a ttl of -0 is 0 (a clean record reads the same through JSON; found by the fuzz suite)', () => {
    expect(Object.is(validatePeerRecord({ ...good, ttl: -0 }).ttl, 0)).toBe(true)
  })

  it('honours custom limits', () => {
    expect(() => validatePeerRecord({ ...good, meta: { a: 'xx' } }, { maxMetaValueLength: 1 })).toThrow(
      /longer than 1/,
    )
  })

  it('validates a local peer without source', () => {
    expect(validateLocalPeer({ id, addresses: [] })).toEqual({ id, addresses: [] })
    expect(() => validateLocalPeer({ id: 'x', addresses: [] })).toThrow(InvalidPeerRecordError)
  })

  it('refuses to announce a service list its peers would drop (whole or in part)', () => {
    const local = (services: string) => ({ id, addresses: [], meta: { services } })
    expect(validateLocalPeer(local('billing.v2,kv')).meta).toEqual({ services: 'billing.v2,kv' })
    expect(validateLocalPeer(local('')).meta).toEqual({ services: '' })
    const names = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`).join(',')
    expect(validateLocalPeer(local(names(32))).meta?.services).toBe(names(32))
    for (const [bad, reason] of [
      [names(33), /more than 32 names/],
      ['kv,Not Valid', /1 invalid service name/],
      ['kv,,x', /1 invalid service name/],
    ] as const) {
      const error = (() => {
        try {
          validateLocalPeer(local(bad))
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(InvalidPeerRecordError)
      expect(error).toMatchObject({ path: 'meta.services', message: expect.stringMatching(reason) })
      // the same list from the network is decoded leniently (dropped and counted), never refused
      expect(validatePeerRecord({ ...local(bad), source: 'x' }).meta?.services).toBe(bad)
    }
    // a list longer than the list limit, allowed by a larger meta value limit
    const long = `${'a'.repeat(120)},${'b'.repeat(120)},${'c'.repeat(20)}`
    expect(() => validateLocalPeer(local(long), { maxMetaValueLength: 1000 })).toThrow(
      /longer than 255 characters/,
    )
  })
})

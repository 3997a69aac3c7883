// Announce, withdraw, list, lookup, watch and the documented key layout, against a real etcd.
import { ConfigError } from '@peer/discovery-core'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  EtcdConfigError,
  EtcdDiscovery,
  EtcdDiscoveryError,
  InvalidEtcdOptionsError,
  NODE_VALUE_VERSION,
  nodeKey,
} from '../src/index.js'
import { backend, node, uniquePrefix } from './helpers.js'

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('announce, list, lookup, withdraw', () => {
  it('writes the documented, versioned JSON value under <prefix>/nodes/<id> with a lease', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix: `${prefix}/`, ttl: 3 })
    await a.start()
    const self = node('layout', 4100, { meta: { zone: 'a' } })
    await a.announce(self)
    const json = await etcd.etcdctl(['get', nodeKey(prefix, self.id), '-w', 'json'])
    expect(json).toMatch(/"lease":[1-9]/)
    const value = JSON.parse(await etcd.etcdctl(['get', nodeKey(prefix, self.id), '--print-value-only']))
    expect(value).toEqual({
      v: NODE_VALUE_VERSION,
      id: self.id,
      name: self.name,
      addresses: [{ host: '127.0.0.1', port: 4100 }],
      meta: { zone: 'a' },
    })
    const leaseHex = BigInt(/"lease":(\d+)/.exec(json)![1]!).toString(16)
    const ttl = await etcd.etcdctl(['lease', 'timetolive', leaseHex])
    expect(ttl).toMatch(/granted with TTL\(3s\)/)
  })

  it('discovers announced peers, answers list and lookup by id and name, and reports withdraw as lost', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([a.start(), b.start()])
    const self = node('alpha', 4001)
    const discovered = nextEvent<CustomEvent>(b, 'peer:discovered')
    await a.announce(self)
    const event = await discovered
    expect(event.detail.record).toMatchObject({ id: self.id, name: self.name, source: 'etcd' })
    expect(event.detail.source).toBe('etcd')
    expect((await b.list()).map((r) => r.id)).toEqual([self.id])
    expect((await b.lookup(self.id))?.name).toBe(self.name)
    expect((await b.lookup(self.name!))?.id).toBe(self.id)
    expect(await a.list()).toEqual([]) // never itself
    const lost = nextEvent<CustomEvent>(b, 'peer:lost')
    await a.withdraw()
    expect((await lost).detail.record.id).toBe(self.id)
    expect(await etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'])).toBe('')
    await a.withdraw() // a no-op when not announced
  })

  it('lists peers that were there before start (the watch starts at the listed revision + 1)', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    await a.start()
    const self = node('early')
    await a.announce(self)
    const b = backend({ endpoints: etcd.endpoints, prefix })
    const rec = recordEvents(b, ['peer:discovered'])
    await b.start()
    expect(rec.of('peer:discovered')).toHaveLength(1)
    expect((await b.list()).map((r) => r.id)).toEqual([self.id])
    expect(b.revision).toBeGreaterThan(0)
  })

  it('list({ fresh: true }) re-lists the range from etcd; it rejects when etcd is unreachable', async () => {
    const prefix = uniquePrefix()
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await b.start()
    const other = node('fresh-list')
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, other.id),
      JSON.stringify({ v: 1, id: other.id, addresses: [{ host: '127.0.0.1', port: 1 }] }),
    ])
    expect((await b.list({ fresh: true })).map((r) => r.id)).toEqual([other.id])
    expect(b.etcdStats.resyncs).toBeGreaterThanOrEqual(2)
    const down = backend({ endpoints: 'http://127.0.0.1:9', prefix })
    await down.start()
    await expect(down.list({ fresh: true })).rejects.toThrow(EtcdDiscoveryError)
    expect(await down.list()).toEqual([])
  })

  it('announcing again with new addresses emits peer:updated; an unchanged one emits nothing', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([a.start(), b.start()])
    const self = node('mover', 4001)
    await a.announce(self)
    await waitFor(() => b.lookup(self.id))
    const rec = recordEvents(b, ['peer:discovered', 'peer:updated', 'peer:lost'])
    await a.announce(self)
    await a.announce({ ...self, addresses: [{ host: '127.0.0.2', port: 4002 }] })
    await waitFor(() => rec.of('peer:updated').length === 1)
    await sleep(200)
    expect(rec.events.map((e) => e.type)).toEqual(['peer:updated'])
    expect((await b.lookup(self.id))?.addresses).toEqual([{ host: '127.0.0.2', port: 4002 }])
  })

  it('announcing under a new id removes the old key', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    await a.start()
    const first = node('first')
    const second = node('second')
    await a.announce(first)
    await a.announce(second)
    const keys = (await etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'])).trim()
    expect(keys).toBe(nodeKey(prefix, second.id))
  })

  it('an announcement made before start is written on start', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    const self = node('patient')
    await a.announce(self)
    expect(await etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'])).toBe('')
    await a.start()
    await waitFor(async () =>
      (await etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'])).includes(self.id),
    )
  })

  it('stop() revokes the lease, so other nodes see peer:lost at once', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 30 })
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([a.start(), b.start()])
    const self = node('leaving')
    await a.announce(self)
    await waitFor(() => b.lookup(self.id))
    const lost = nextEvent<CustomEvent>(b, 'peer:lost', undefined, 2000)
    await a.stop()
    expect((await lost).detail.record.id).toBe(self.id)
  })

  it('a crashed node (no keepalives) is reported lost after its lease TTL', async () => {
    const prefix = uniquePrefix()
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await b.start()
    const self = node('crashed')
    // another process's lease that nobody keeps alive
    await etcd.etcdctl(['lease', 'grant', '1']).then(async (out) => {
      const id = /lease ([0-9a-f]+) granted/.exec(out)![1]!
      await etcd.etcdctl([
        'put',
        '--lease',
        id,
        nodeKey(prefix, self.id),
        JSON.stringify({ v: 1, id: self.id, addresses: [{ host: '127.0.0.1', port: 4000 }] }),
      ])
    })
    await waitFor(() => b.lookup(self.id))
    // generous: when broken, the loss is never reported
    const lost = await nextEvent<CustomEvent>(b, 'peer:lost', undefined, 30_000)
    expect(lost.detail.record.id).toBe(self.id)
  })
})

describe('other writers (etcdctl, other languages)', () => {
  it('discovers a node registered with etcdctl and loses it when etcdctl deletes it', async () => {
    const prefix = uniquePrefix()
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await b.start()
    const other = node('foreign', 7000)
    const value = JSON.stringify({
      v: 1,
      id: other.id,
      name: 'foreign@elsewhere',
      addresses: [{ host: '::1', port: 7000 }],
      meta: { lang: 'go' },
      extra: 'unknown fields are ignored',
    })
    const found = nextEvent<CustomEvent>(b, 'peer:discovered')
    await etcd.etcdctl(['put', nodeKey(prefix, other.id), value])
    expect((await found).detail.record).toMatchObject({
      id: other.id,
      name: 'foreign@elsewhere',
      addresses: [{ host: '::1', port: 7000 }],
      meta: { lang: 'go' },
    })
    const lost = nextEvent<CustomEvent>(b, 'peer:lost')
    await etcd.etcdctl(['del', nodeKey(prefix, other.id)])
    expect((await lost).detail.record.id).toBe(other.id)
  })

  const invalid: Array<[string, (id: string) => string, string?]> = [
    ['a value that is not JSON', () => 'not json {'],
    ['a JSON value that is not an object', () => '[1,2,3]'],
    ['an unsupported layout version', (id) => JSON.stringify({ v: 2, id, addresses: [] })],
    ['a missing version', (id) => JSON.stringify({ id, addresses: [] })],
    [
      'an id that does not match the key',
      () => JSON.stringify({ v: 1, id: 'c'.repeat(51) + 'a', addresses: [] }),
    ],
    ['addresses that are not an array', (id) => JSON.stringify({ v: 1, id, addresses: 'x' })],
    ['a bad port', (id) => JSON.stringify({ v: 1, id, addresses: [{ host: '127.0.0.1', port: 70000 }] })],
    ['a bad name', (id) => JSON.stringify({ v: 1, id, name: 'no at sign', addresses: [] })],
    ['meta that is not strings', (id) => JSON.stringify({ v: 1, id, addresses: [], meta: { a: 1 } })],
    [
      'a value above maxValueBytes',
      (id) => JSON.stringify({ v: 1, id, addresses: [], pad: 'x'.repeat(600) }),
    ],
    ['a key that is not a node id', () => JSON.stringify({ v: 1, id: 'x', addresses: [] }), 'not-an-id'],
  ]
  for (const [what, make, keySuffix] of invalid) {
    it(`counts and ignores ${what}`, async () => {
      const prefix = uniquePrefix()
      const b = backend({ endpoints: etcd.endpoints, prefix, maxValueBytes: 512 })
      await b.start()
      const rec = recordEvents(b, ['peer:discovered', 'peer:updated'])
      const id = node('bad').id
      await etcd.etcdctl(['put', `${prefix}/nodes/${keySuffix ?? id}`, '--', make(id)])
      await waitFor(() => b.stats.invalidRecords === 1)
      await b.refresh() // a re-list does not count the same value twice
      await sleep(100)
      expect(b.stats.invalidRecords).toBe(1)
      expect(rec.events).toEqual([])
      expect(b.started).toBe(true)
    })
  }

  it('a known peer whose value turns invalid is reported lost', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix })
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([a.start(), b.start()])
    const self = node('corrupted')
    await a.announce(self)
    await waitFor(() => b.lookup(self.id))
    const lost = nextEvent<CustomEvent>(b, 'peer:lost')
    await etcd.etcdctl(['put', nodeKey(prefix, self.id), 'garbage'])
    expect((await lost).detail.record.id).toBe(self.id)
    expect(b.stats.invalidRecords).toBe(1)
  })
})

describe('limits and options', () => {
  it('keeps at most maxPeers; lookup by id still finds the others in etcd', async () => {
    const prefix = uniquePrefix()
    const client = new Etcd3({ hosts: etcd.endpoints })
    try {
      const ids = ['p1', 'p2', 'p3'].map((l) => node(l).id)
      for (const id of ids) {
        await client
          .put(nodeKey(prefix, id))
          .value(JSON.stringify({ v: 1, id, addresses: [{ host: '127.0.0.1', port: 1 }] }))
      }
      const b = backend({ endpoints: etcd.endpoints, prefix, maxPeers: 2 })
      await b.start()
      expect(await b.list()).toHaveLength(2)
      expect(b.stats.overflowDrops).toBe(1)
      for (const id of ids) expect((await b.lookup(id))?.id).toBe(id)
    } finally {
      client.close()
    }
  })

  it('reads at most maxListKeys keys per list', async () => {
    const prefix = uniquePrefix()
    const client = new Etcd3({ hosts: etcd.endpoints })
    try {
      for (const l of ['q1', 'q2', 'q3', 'q4']) {
        const id = node(l).id
        await client.put(nodeKey(prefix, id)).value(JSON.stringify({ v: 1, id, addresses: [] }))
      }
      const b = backend({ endpoints: etcd.endpoints, prefix, maxListKeys: 3 })
      await b.start()
      expect(await b.list()).toHaveLength(3)
    } finally {
      client.close()
    }
  })

  it('remembers at most maxTrackedInvalid bad keys (older ones are counted again on a re-list)', async () => {
    const prefix = uniquePrefix()
    for (const l of ['i1', 'i2', 'i3']) await etcd.etcdctl(['put', nodeKey(prefix, node(l).id), 'bad'])
    const bounded = backend({ endpoints: etcd.endpoints, prefix, maxTrackedInvalid: 2 })
    const unbounded = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([bounded.start(), unbounded.start()])
    expect([bounded.stats.invalidRecords, unbounded.stats.invalidRecords]).toEqual([3, 3])
    await Promise.all([bounded.refresh(), unbounded.refresh()])
    expect(unbounded.stats.invalidRecords).toBe(3)
    expect(bounded.stats.invalidRecords).toBe(6)
  })

  it('rejects invalid options with EtcdConfigError', () => {
    expect(() => backend({ endpoints: [] })).toThrow(EtcdConfigError)
    // the old name is the same class, a ConfigError like every package's
    expect(() => backend({ endpoints: [] })).toThrow(InvalidEtcdOptionsError)
    expect(() => backend({ endpoints: [] })).toThrow(ConfigError)
    expect(() => backend({ endpoints: [] })).toThrow(expect.objectContaining({ name: 'EtcdConfigError' }))
    expect(() => backend({ endpoints: 'http://127.0.0.1:1', ttl: 0.5 })).toThrow(EtcdConfigError)
    // a ttl is named and described like every other option: a string is not shown as a number, and a
    // ttl whose derived resetGraceMs would not be a valid timer is refused as a ttl
    for (const [ttl, got] of [
      ['10', 'got "10"'],
      [0, 'got 0'],
      [5_000_000, 'got 5000000'],
    ] as const)
      expect(() => backend({ endpoints: 'http://127.0.0.1:1', ttl: ttl as number })).toThrow(
        expect.objectContaining({
          option: 'ttl',
          message: `ttl must be an integer >= 1 and <= 1000000, ${got}`,
        }),
      )
    expect(() => backend({ endpoints: 'http://127.0.0.1:1', staleAfterMs: -1 })).toThrow(EtcdConfigError)
    expect(() => backend({ endpoints: 'http://127.0.0.1:1', requestTimeoutMs: 0 })).toThrow(EtcdConfigError)
    expect(() => backend({ endpoints: 'http://127.0.0.1:1', maxTrackedInvalid: 0 })).toThrow(EtcdConfigError)
    // no bound, or a fraction, are accepted as before
    backend({ endpoints: 'http://127.0.0.1:1', maxTrackedInvalid: Number.POSITIVE_INFINITY })
    backend({ endpoints: 'http://127.0.0.1:1', maxTrackedInvalid: 2.5 })
  })

  it('still takes the deprecated names (staleLimit, requestTimeout, ...) with a one-time warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const old = {
        staleLimit: 5000,
        resetGrace: 100,
        requestTimeout: 500,
        maxRetryDelay: 100,
        checkInterval: 0,
      }
      new EtcdDiscovery({ endpoints: 'http://127.0.0.1:1', ...old })
      new EtcdDiscovery({ endpoints: 'http://127.0.0.1:1', ...old })
      expect(warn).toHaveBeenCalledTimes(5)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/`staleLimit` is deprecated; use `staleAfterMs`/)
      expect(() => new EtcdDiscovery({ endpoints: 'http://127.0.0.1:1', requestTimeout: -1 })).toThrow(
        /requestTimeoutMs must be/,
      )
      expect(
        () => new EtcdDiscovery({ endpoints: 'http://127.0.0.1:1', requestTimeout: 1, requestTimeoutMs: 2 }),
      ).toThrow(EtcdConfigError)
    } finally {
      warn.mockRestore()
    }
  })

  it('rejects an invalid or oversized announcement', async () => {
    const b = backend({ endpoints: etcd.endpoints, prefix: uniquePrefix(), maxValueBytes: 200 })
    await b.start()
    await expect(b.announce({ id: 'nope', addresses: [] })).rejects.toThrow(/invalid peer record/)
    await expect(
      b.announce({ ...node('big'), meta: { a: 'x'.repeat(100), b: 'y'.repeat(100) } }),
    ).rejects.toThrow(EtcdConfigError)
  })

  it('starts while etcd is unreachable, reports discovery:error, and announce rejects with EtcdDiscoveryError', async () => {
    const b = backend({ endpoints: 'http://127.0.0.1:9', prefix: uniquePrefix(), maxRetryDelayMs: 200 })
    const errors = recordEvents(b, ['discovery:error'])
    await b.start()
    expect(b.started).toBe(true)
    await waitFor(() => errors.events.length > 0)
    await expect(b.announce(node('lonely'))).rejects.toThrow(EtcdDiscoveryError)
    expect(b.connected).toBe(false)
  })
})

// Behaviour against a real DNS server: an in-process dns2 server on 127.0.0.1 (UDP + TCP, port 0).
import type { PeerLostDetail, PeerRecord } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CachingResolver, DnsClient, DnsConfigError, DnsDiscovery, DnsLookupError } from '../src/index.js'
import { type Dns2TestServer, deadPort, type Fault, startDns2Server } from './support/dns2-server.js'
import { DOMAIN, fastBackend, peerZone, SERVICE } from './support/fixtures.js'

let server: Dns2TestServer
const backends: DnsDiscovery[] = []

function backend(...args: Parameters<typeof fastBackend>): DnsDiscovery {
  const b = fastBackend(...args)
  backends.push(b)
  return b
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ids = async (b: DnsDiscovery) => (await b.list()).map((r) => r.id).sort()

beforeEach(async () => {
  server = await startDns2Server()
})

afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.stop()))
  await server.close()
})

describe('discovery through SRV, TXT, A and AAAA', () => {
  it('reports every SRV target as a peer with its A and AAAA addresses and TXT name', async () => {
    const a = peerZone('alpha', { port: 4001, v4: ['127.0.0.11'], v6: ['::11'] })
    const b = peerZone('beta', {
      port: 4002,
      v4: ['127.0.0.12', '127.0.0.13'],
      txt: [`id=${testId('beta')}`, 'role=db'],
    })
    server.records = [...a.records, ...b.records]
    const d = backend(server.address)
    await d.start()
    const list = await d.list()
    expect(list.map((r) => r.id).sort()).toEqual([a.id, b.id].sort())
    const alpha = list.find((r) => r.id === a.id)!
    expect(alpha.name).toBe('alpha@alpha')
    expect(alpha.source).toBe('dns')
    expect(alpha.addresses).toEqual([
      { host: '127.0.0.11', port: 4001 },
      { host: '::11', port: 4001 },
    ])
    const beta = list.find((r) => r.id === b.id)!
    expect(beta.addresses).toEqual([
      { host: '127.0.0.12', port: 4002 },
      { host: '127.0.0.13', port: 4002 },
    ])
    expect(beta.meta).toEqual({ role: 'db' })
    expect(d.stats.invalidRecords).toBe(0)
  })

  it('reads the node id from a <node id>.<domain> target label when there is no TXT record', async () => {
    const id = testId('labelled')
    const p = peerZone('labelled', { target: `${id}.${DOMAIN}`, txt: false })
    server.records = p.records
    const d = backend(server.address, { idSource: 'label' })
    await d.start()
    expect(await ids(d)).toEqual([id])
    // idSource 'label' never asks for TXT
    expect(server.queriesFor(`${id}.${DOMAIN}`, 'TXT')).toBe(0)
  })

  it('orders a peer with several SRV records by priority (RFC 2782)', async () => {
    const id = testId('multi')
    server.records = [
      { name: SERVICE, type: 'SRV', target: `low.${DOMAIN}`, port: 5000, priority: 20 },
      { name: SERVICE, type: 'SRV', target: `high.${DOMAIN}`, port: 5001, priority: 10 },
      { name: `low.${DOMAIN}`, type: 'TXT', strings: [`id=${id}`] },
      { name: `high.${DOMAIN}`, type: 'TXT', strings: [`id=${id}`] },
      { name: `low.${DOMAIN}`, type: 'A', address: '127.0.0.20' },
      { name: `high.${DOMAIN}`, type: 'A', address: '127.0.0.21' },
    ]
    const d = backend(server.address)
    await d.start()
    const [record] = await d.list()
    expect(record?.addresses).toEqual([
      { host: '127.0.0.21', port: 5001 },
      { host: '127.0.0.20', port: 5000 },
    ])
  })

  it('orders equal-priority records by weight, deterministically for a seed', async () => {
    const id = testId('weighted')
    server.records = []
    for (let i = 0; i < 6; i++) {
      const target = `w${i}.${DOMAIN}`
      server.records.push(
        { name: SERVICE, type: 'SRV', target, port: 6000 + i, priority: 10, weight: 10 * (i + 1) },
        { name: target, type: 'TXT', strings: [`id=${id}`] },
        { name: target, type: 'A', address: `127.0.4.${i + 1}` },
      )
    }
    const orderFor = async (seed: number) => {
      const d = backend(server.address, { seed, families: [4] })
      await d.start()
      const ports = (await d.list())[0]!.addresses.map((a) => a.port)
      await d.stop()
      return ports.join(',')
    }
    expect(await orderFor(7)).toBe(await orderFor(7))
    const orders = new Set<string>()
    for (let seed = 0; seed < 8; seed++) orders.add(await orderFor(seed))
    expect(orders.size).toBeGreaterThan(1)
  })

  it('turns added, changed and removed records into discovered, updated and lost', async () => {
    const a = peerZone('one')
    const b = peerZone('two', { v4: ['127.0.0.2'] })
    server.defaultTtl = 0
    server.records = [...a.records]
    const d = backend(server.address)
    const rec = recordEvents(d, ['peer:discovered', 'peer:updated', 'peer:lost'])
    await d.start()
    expect(rec.of('peer:discovered')).toHaveLength(1)
    server.records = [...a.records, ...b.records]
    await nextEvent(d, 'peer:discovered', (e: CustomEvent) => e.detail.record.id === b.id)
    server.records = [
      ...a.records,
      ...b.records.map((r) => (r.type === 'A' ? { ...r, address: '127.0.0.3' } : r)),
    ]
    const updated = await nextEvent<CustomEvent<{ record: PeerRecord }>>(d, 'peer:updated')
    expect(updated.detail.record.addresses).toEqual([{ host: '127.0.0.3', port: 4000 }])
    server.records = [...b.records.map((r) => (r.type === 'A' ? { ...r, address: '127.0.0.3' } : r))]
    const lost = await nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost')
    expect(lost.detail.record.id).toBe(a.id)
    expect(lost.detail.reason).toBe('removed')
    rec.stop()
  })
})

describe('stable records', () => {
  it('answers in a different order (round-robin servers) cause no peer:updated', async () => {
    const a = peerZone('rr1', { v4: ['127.0.0.5', '127.0.0.6', '127.0.0.7'], v6: ['::5', '::6'] })
    const b = peerZone('rr2', { v4: ['127.0.0.8'], weight: 0 })
    const c = peerZone('rr3', { v4: ['127.0.0.9'], weight: 50 })
    // a second TXT record on the same name that disagrees about the name
    const extraTxt = { name: a.target, type: 'TXT' as const, strings: ['name=other@elsewhere'] }
    const all = [...a.records, extraTxt, ...b.records, ...c.records]
    server.defaultTtl = 0
    server.records = all
    const d = backend(server.address)
    const rec = recordEvents(d, ['peer:updated'])
    await d.start()
    for (let i = 0; i < 4; i++) {
      server.records = i % 2 === 0 ? [...all].reverse() : [...all.slice(3), ...all.slice(0, 3)]
      const polls = d.dnsStats.polls
      await waitFor(() => d.dnsStats.polls > polls + 1)
    }
    expect(rec.of('peer:updated')).toHaveLength(0)
    expect((await d.list()).find((r) => r.id === a.id)?.name).toBe('rr1@rr1')
    expect((await d.list()).find((r) => r.id === a.id)?.addresses.map((x) => x.host)).toEqual([
      '127.0.0.5',
      '127.0.0.6',
      '127.0.0.7',
      '::5',
      '::6',
    ])
    rec.stop()
  })
})

describe('additional section', () => {
  it('uses the A/AAAA records a server adds to an SRV answer instead of asking for them', async () => {
    const a = peerZone('add1', { v4: ['127.0.0.61'], v6: ['::61'] })
    const b = peerZone('add2', { v4: ['127.0.0.62'] }) // no AAAA in the additional section: asked for
    server.records = [...a.records, ...b.records]
    server.additionals = true
    const d = backend(server.address)
    await d.start()
    expect((await d.list()).find((r) => r.id === a.id)?.addresses).toEqual([
      { host: '127.0.0.61', port: 4000 },
      { host: '::61', port: 4000 },
    ])
    expect(server.queriesFor(`add1.${DOMAIN}`, 'A')).toBe(0)
    expect(server.queriesFor(`add1.${DOMAIN}`, 'AAAA')).toBe(0)
    expect(server.queriesFor(`add2.${DOMAIN}`, 'A')).toBe(0)
    expect(server.queriesFor(`add2.${DOMAIN}`, 'AAAA')).toBe(1)
    expect(d.dnsStats.cache.primed).toBe(3)
  })

  it('ignores additional records for names that are not SRV targets', async () => {
    const p = peerZone('honest', { v4: ['127.0.0.63'] })
    server.records = [...p.records, { name: `other.${DOMAIN}`, type: 'A', address: '127.0.0.64' }]
    server.additionals = true
    server.extraAdditionals = [
      { name: `other.${DOMAIN}`, type: 'A', address: '10.6.6.6' },
      { name: `honest.${DOMAIN}`, type: 'TXT', strings: ['id=x'] },
    ]
    const cache = new CachingResolver(new DnsClient({ resolvers: [server.address] }), {
      minTtl: 1,
      maxTtl: 60,
      negativeTtl: 5,
      maxNegativeTtl: 60,
    })
    await cache.resolve(SERVICE, 'SRV')
    expect(cache.counters.primed).toBe(1)
    const other = await cache.resolve(`other.${DOMAIN}`, 'A')
    expect(other.kind === 'positive' && other.records).toMatchObject([{ address: '127.0.0.64' }])
    expect(server.queriesFor(`other.${DOMAIN}`, 'A')).toBe(1)
    const d = backend(server.address)
    await d.start()
    expect((await d.list())[0]).toMatchObject({ id: p.id, addresses: [{ host: '127.0.0.63', port: 4000 }] })
  })
})

describe('truncation', () => {
  it('retries a truncated UDP answer over TCP: a service with 60 instances works', async () => {
    const peers = Array.from({ length: 60 }, (_, i) =>
      peerZone(`n${i}`, { target: `${testId(`n${i}`)}.${DOMAIN}`, txt: false, port: 4000 + i }),
    )
    server.records = peers.flatMap((p) => p.records)
    const d = backend(server.address, { idSource: 'label', families: [4], concurrency: 16 })
    await d.start()
    expect((await d.list()).length).toBe(60)
    expect(d.dnsStats.client.truncated).toBeGreaterThanOrEqual(1)
    expect(d.dnsStats.client.tcpQueries).toBeGreaterThanOrEqual(1)
    expect(server.queries.some((q) => q.transport === 'tcp' && q.type === 'SRV')).toBe(true)
  })

  it('also works without EDNS (512-byte UDP limit)', async () => {
    const peers = Array.from({ length: 12 }, (_, i) =>
      peerZone(`m${i}`, { target: `${testId(`m${i}`)}.${DOMAIN}`, txt: false }),
    )
    server.records = peers.flatMap((p) => p.records)
    const d = backend(server.address, { idSource: 'label', families: [4], udpPayloadSize: 512 })
    await d.start()
    expect((await d.list()).length).toBe(12)
    expect(d.dnsStats.client.truncated).toBeGreaterThanOrEqual(1)
  })
})

describe('TCP fallback failures', () => {
  for (const fault of ['drop', 'garbage', 'short'] as const) {
    it(`a truncated answer whose TCP retry fails (${fault}) is a transient failure`, async () => {
      const peers = Array.from({ length: 30 }, (_, i) =>
        peerZone(`t${i}`, { target: `${testId(`t${i}`)}.${DOMAIN}`, txt: false }),
      )
      server.records = peers.flatMap((p) => p.records)
      const d = backend(server.address, { idSource: 'label', families: [4], concurrency: 16 })
      await d.start()
      expect((await d.list()).length).toBe(30)
      const rec = recordEvents(d, ['peer:lost', 'discovery:error'])
      server.faults.set('tcp:*', fault)
      await waitFor(() => rec.of('discovery:error').length >= 2, {
        what: 'errors from the failing TCP retry',
        timeoutMs: 15_000,
      })
      expect(rec.of('peer:lost')).toHaveLength(0)
      expect((await d.list()).length).toBe(30)
      if (fault === 'drop') expect(d.dnsStats.client.timeouts).toBeGreaterThan(0)
      else expect(d.dnsStats.client.malformed).toBeGreaterThan(0)
      rec.stop()
    })
  }
})

describe('IPv6 resolvers', () => {
  it('asks a resolver at [::1]:port over UDP and TCP', async () => {
    const v6 = await startDns2Server([], '::1')
    try {
      const peers = Array.from({ length: 30 }, (_, i) =>
        peerZone(`v${i}`, { target: `${testId(`v${i}`)}.${DOMAIN}`, txt: false }),
      )
      v6.records = peers.flatMap((p) => p.records)
      const d = backend(v6.address, { idSource: 'label', families: [4] })
      await d.start()
      expect((await d.list()).length).toBe(30)
      expect(v6.queries.some((q) => q.transport === 'tcp')).toBe(true)
    } finally {
      await Promise.all(backends.splice(0).map((b) => b.stop()))
      await v6.close()
    }
  })
})

describe('transient failures keep the last good answer', () => {
  for (const fault of ['servfail', 'refused', 'drop'] as const) {
    it(`${fault} on the SRV question: no peer:lost, a discovery:error, recovery afterwards`, async () => {
      const p = peerZone('steady')
      server.records = p.records
      const d = backend(server.address, { staleAfterMs: 60000, timeoutMs: 300, attempts: 1 })
      const rec = recordEvents(d, ['peer:lost', 'discovery:error'])
      await d.start()
      expect(await ids(d)).toEqual([p.id])
      server.faults.set(`${SERVICE} SRV`, fault)
      await waitFor(() => d.dnsStats.failedPolls >= 3, { what: 'three failed polls' })
      expect(rec.of('peer:lost')).toHaveLength(0)
      expect(rec.of('discovery:error').length).toBeGreaterThanOrEqual(1)
      expect(await ids(d)).toEqual([p.id])
      server.faults.clear()
      const polls = d.dnsStats.polls
      await waitFor(() => d.dnsStats.polls > polls + 1 && d.dnsStats.failedPolls < d.dnsStats.polls)
      expect(await ids(d)).toEqual([p.id])
      expect(rec.of('peer:lost')).toHaveLength(0)
      if (fault === 'servfail' || fault === 'refused')
        expect(d.dnsStats.client.serverErrors).toBeGreaterThan(0)
      else expect(d.dnsStats.client.timeouts).toBeGreaterThan(0)
      rec.stop()
    })
  }

  it('a failing target keeps its peer while the SRV answer still lists it', async () => {
    const p = peerZone('flaky')
    server.records = p.records
    const d = backend(server.address)
    const rec = recordEvents(d, ['peer:lost'])
    await d.start()
    server.faults.set(`flaky.${DOMAIN} A`, 'servfail')
    await waitFor(() => server.queriesFor(`flaky.${DOMAIN}`, 'A') >= 4, { what: 'failed A re-queries' })
    expect(rec.of('peer:lost')).toHaveLength(0)
    expect(await ids(d)).toEqual([p.id])
    rec.stop()
  })

  it('peers older than staleAfter are lost with reason stale', async () => {
    const p = peerZone('old')
    server.records = p.records
    const d = backend(server.address, { staleAfterMs: 400, timeoutMs: 300, attempts: 1 })
    await d.start()
    server.faults.set('*', 'drop')
    const lost = await nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost', () => true, 5000)
    expect(lost.detail.reason).toBe('stale')
    expect(await d.list()).toEqual([])
  })

  it('falls over to the next resolver when the first does not answer', async () => {
    const p = peerZone('failover')
    server.records = p.records
    const dead = `127.0.0.1:${await deadPort()}`
    const d = backend([dead, server.address])
    await d.start()
    expect(await ids(d)).toEqual([p.id])
  })
})

describe('authoritative answers lose peers at once', () => {
  it('NXDOMAIN for the service after peers were known produces peer:lost', async () => {
    const p = peerZone('gone')
    server.records = p.records
    const d = backend(server.address)
    await d.start()
    server.records = []
    const lost = await nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost')
    expect(lost.detail.reason).toBe('removed')
  })

  it('an empty answer (NODATA) for the service produces peer:lost', async () => {
    const p = peerZone('emptied')
    server.records = p.records
    const d = backend(server.address)
    await d.start()
    server.records = [
      { name: SERVICE, type: 'TXT', strings: ['v=1'] },
      ...p.records.filter((r) => r.type !== 'SRV'),
    ]
    const lost = await nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost')
    expect(lost.detail.record.id).toBe(p.id)
  })
})

describe('malformed answers are counted, never crash, never lose peers', () => {
  const faults: Fault[] = ['garbage', 'short', 'bad-rdata', 'wrong-question', 'pointer-loop']
  for (const fault of faults) {
    it(`${fault}`, async () => {
      const p = peerZone('sturdy')
      server.records = p.records
      const d = backend(server.address)
      const rec = recordEvents(d, ['peer:lost', 'discovery:error'])
      await d.start()
      server.faults.set(`${SERVICE} SRV`, fault)
      await waitFor(() => d.dnsStats.client.malformed >= 2, { what: 'malformed answers counted' })
      expect(d.started).toBe(true)
      expect(rec.of('peer:lost')).toHaveLength(0)
      expect(rec.of('discovery:error').length).toBeGreaterThan(0)
      expect(await ids(d)).toEqual([p.id])
      rec.stop()
    })
  }

  it('a TXT string overrunning its RDATA', async () => {
    const p = peerZone('txtbad')
    server.records = p.records
    server.faults.set(`txtbad.${DOMAIN} TXT`, 'txt-overrun')
    const d = backend(server.address)
    await d.start()
    await waitFor(() => d.dnsStats.client.malformed >= 1)
    expect(await d.list()).toEqual([])
    server.faults.clear()
    await waitFor(async () => (await d.list()).length === 1, { what: 'recovery after a fixed TXT record' })
  })
})

describe('invalid records are dropped and counted once', () => {
  it('targets without a node id, with a bad TXT id, with a bad name, or with ids that disagree', async () => {
    const good = peerZone('good')
    const labelId = testId('label')
    server.records = [
      ...good.records,
      ...peerZone('noid', { txt: ['role=x'] }).records,
      ...peerZone('badid', { txt: ['id=NOT-A-NODE-ID'] }).records,
      ...peerZone('badname', { txt: [`id=${testId('badname')}`, 'name=no at sign'] }).records,
      ...peerZone('conflict', { target: `${labelId}.${DOMAIN}`, txt: [`id=${testId('other')}`] }).records,
    ]
    const d = backend(server.address)
    const rec = recordEvents(d, ['peer:discovered'])
    await d.start()
    expect(await ids(d)).toEqual([good.id])
    expect(d.stats.invalidRecords).toBe(4)
    const polls = d.dnsStats.polls
    await waitFor(() => d.dnsStats.polls >= polls + 3)
    expect(d.stats.invalidRecords).toBe(4)
    expect(rec.of('peer:discovered')).toHaveLength(1)
    rec.stop()
  })

  it('targets without addresses are dropped and counted', async () => {
    const good = peerZone('addr')
    const bare = peerZone('bare', { v4: [] })
    server.records = [...good.records, ...bare.records]
    const d = backend(server.address)
    await d.start()
    expect(await ids(d)).toEqual([good.id])
    expect(d.stats.invalidRecords).toBe(1)
  })

  it('SRV records beyond maxSrvRecords are dropped and counted', async () => {
    const peers = Array.from({ length: 5 }, (_, i) => peerZone(`cap${i}`))
    server.records = peers.flatMap((p) => p.records)
    server.defaultTtl = 0
    const d = backend(server.address, { maxSrvRecords: 3 })
    const rec = recordEvents(d, ['peer:discovered', 'peer:lost'])
    await d.start()
    expect((await d.list()).length).toBe(3)
    expect(d.stats.invalidRecords).toBe(2)
    // a server rotating the RRset must not change which records are kept
    for (let i = 0; i < 3; i++) {
      server.records = [...server.records.slice(3), ...server.records.slice(0, 3)]
      const polls = d.dnsStats.polls
      await waitFor(() => d.dnsStats.polls > polls + 1)
    }
    expect(rec.of('peer:lost')).toHaveLength(0)
    expect(rec.of('peer:discovered')).toHaveLength(3)
    expect(d.stats.invalidRecords).toBe(2)
    rec.stop()
  })

  it('SRV records with port 0 or an invalid target name are dropped and counted', async () => {
    const good = peerZone('fine')
    server.records = [
      ...good.records,
      { name: SERVICE, type: 'SRV', target: `zero.${DOMAIN}`, port: 0 },
      { name: SERVICE, type: 'SRV', target: `bad_-.-x.${DOMAIN}`, port: 1 },
    ]
    const d = backend(server.address)
    await d.start()
    expect(await ids(d)).toEqual([good.id])
    expect(d.stats.invalidRecords).toBe(2)
  })

  it('addresses per peer are bounded by recordLimits.maxAddresses', async () => {
    const many = peerZone('many', { v4: Array.from({ length: 40 }, (_, i) => `127.0.3.${i + 1}`) })
    server.records = many.records
    const d = backend(server.address, { recordLimits: { maxAddresses: 5 } })
    await d.start()
    expect((await d.list())[0]?.addresses).toHaveLength(5)
  })

  it('the peer map is bounded by maxPeers', async () => {
    server.records = Array.from({ length: 4 }, (_, i) => peerZone(`max${i}`)).flatMap((p) => p.records)
    const d = backend(server.address, { maxPeers: 2 })
    await d.start()
    expect((await d.list()).length).toBe(2)
    expect(d.stats.overflowDrops).toBeGreaterThanOrEqual(2)
  })
})

describe('TTLs', () => {
  it('a zero TTL is raised to minTtl: re-queried, but not faster than minTtl', async () => {
    server.defaultTtl = 0
    server.records = peerZone('zero').records
    // maxTtl out of reach: a zero TTL raised to it would never be asked again within the test
    const d = backend(server.address, { minTtlMs: 50, maxTtlMs: 600_000 })
    await d.start()
    const srv = () => server.queries.filter((q) => q.name === SERVICE && q.type === 'SRV').map((q) => q.at)
    await waitFor(() => srv().length >= 11, { timeoutMs: 60_000, what: 'ten SRV queries after the first' })
    const at = srv().slice(0, 11)
    const gaps = at.slice(1).map((t, i) => t - at[i]!)
    // each poll waits minTtl after the answer to the one before (a zero TTL taken as is would ask
    // again at once): load only lengthens a gap, and 10 ms are left for timer rounding
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(40)
    // re-queried at minTtl: the median gap is within 20 x minTtl, half the 2 s default of minTtl
    expect(gaps.sort((x, y) => x - y)[5]).toBeLessThan(1000)
  })

  it('a huge TTL is cut to maxTtl', async () => {
    server.defaultTtl = 0x7fffffff
    server.records = peerZone('huge').records
    const d = backend(server.address, { minTtlMs: 100, maxTtlMs: 300 })
    await d.start()
    const before = server.queriesFor(SERVICE, 'SRV')
    await sleep(1000)
    expect(server.queriesFor(SERVICE, 'SRV') - before).toBeGreaterThanOrEqual(2)
  })

  it('a long TTL is honoured: no re-query before it expires', async () => {
    server.defaultTtl = 30
    server.records = peerZone('long').records
    const d = backend(server.address, { minTtlMs: 100, maxTtlMs: 60000, families: [4] })
    await d.start()
    const before = server.queries.length
    await sleep(600)
    expect(server.queries.length).toBe(before)
  })

  it('negative answers are cached for the SOA TTL (RFC 2308)', async () => {
    server.defaultTtl = 0
    server.soa = { ttl: 30, minimum: 30 }
    server.records = peerZone('neg').records // no AAAA: NODATA
    const d = backend(server.address, { minTtlMs: 100, maxNegativeTtlMs: 60000 })
    await d.start()
    await sleep(700)
    expect(server.queriesFor(`neg.${DOMAIN}`, 'A')).toBeGreaterThanOrEqual(3)
    expect(server.queriesFor(`neg.${DOMAIN}`, 'AAAA')).toBe(1)
  })

  it('without a SOA, negative answers are cached for negativeTtl', async () => {
    server.defaultTtl = 0
    server.records = peerZone('negdefault').records
    const d = backend(server.address, { minTtlMs: 100, negativeTtlMs: 30000, maxNegativeTtlMs: 60000 })
    await d.start()
    await sleep(500)
    expect(server.queriesFor(`negdefault.${DOMAIN}`, 'AAAA')).toBe(1)
  })
})

describe('CNAME chains', () => {
  it('follows a CNAME chain to the address records (server-followed)', async () => {
    const id = testId('cn')
    server.records = [
      { name: SERVICE, type: 'SRV', target: `cn.${DOMAIN}`, port: 4100 },
      { name: `cn.${DOMAIN}`, type: 'TXT', strings: [`id=${id}`] },
      { name: `cn.${DOMAIN}`, type: 'CNAME', target: `hop1.${DOMAIN}` },
      { name: `hop1.${DOMAIN}`, type: 'CNAME', target: `real.${DOMAIN}` },
      { name: `real.${DOMAIN}`, type: 'A', address: '127.0.0.40' },
    ]
    // TXT lives on cn itself, so the A question follows the chain
    server.records = server.records.filter((r) => !(r.name === `cn.${DOMAIN}` && r.type === 'TXT'))
    server.records.push({ name: `real.${DOMAIN}`, type: 'TXT', strings: [`id=${id}`] })
    const d = backend(server.address)
    await d.start()
    expect(await d.list()).toMatchObject([{ id, addresses: [{ host: '127.0.0.40', port: 4100 }] }])
  })

  it('chases a chain the server did not follow', async () => {
    const id = testId('chase')
    server.followCnames = false
    server.records = [
      { name: SERVICE, type: 'SRV', target: `${id}.${DOMAIN}`, port: 4200 },
      { name: `${id}.${DOMAIN}`, type: 'CNAME', target: `box.${DOMAIN}` },
      { name: `box.${DOMAIN}`, type: 'A', address: '127.0.0.41' },
    ]
    const d = backend(server.address, { idSource: 'label', families: [4] })
    await d.start()
    expect(await d.list()).toMatchObject([{ id, addresses: [{ host: '127.0.0.41', port: 4200 }] }])
  })

  it('a CNAME loop is an error for that target, not a crash', async () => {
    const good = peerZone('beside')
    const id = testId('loop')
    server.followCnames = false
    server.records = [
      ...good.records,
      { name: SERVICE, type: 'SRV', target: `${id}.${DOMAIN}`, port: 4300 },
      { name: `${id}.${DOMAIN}`, type: 'CNAME', target: `l2.${DOMAIN}` },
      { name: `l2.${DOMAIN}`, type: 'CNAME', target: `${id}.${DOMAIN}` },
    ]
    const d = backend(server.address, { idSource: 'txt-or-label', families: [4] })
    const errors = recordEvents(d, ['discovery:error'])
    await d.start()
    expect(await ids(d)).toEqual([good.id])
    expect(errors.of('discovery:error').length).toBeGreaterThan(0)
    errors.stop()
  })
})

describe('lookup(name)', () => {
  it('answers known peers from memory', async () => {
    const p = peerZone('known')
    server.records = p.records
    const d = backend(server.address)
    await d.start()
    const before = server.queries.length
    expect((await d.lookup(p.id))?.id).toBe(p.id)
    expect((await d.lookup('known@known'))?.id).toBe(p.id)
    expect(server.queries.length).toBe(before)
  })

  it('asks the per-node SRV record _peer._udp.<host>', async () => {
    const id = testId('solo')
    server.records = [
      { name: `_peer._udp.solo.${DOMAIN}`, type: 'SRV', target: `solo.${DOMAIN}`, port: 4500 },
      { name: `solo.${DOMAIN}`, type: 'TXT', strings: [`id=${id}`] },
      { name: `solo.${DOMAIN}`, type: 'A', address: '127.0.0.50' },
    ]
    const d = backend(server.address)
    await d.start()
    const found = await d.lookup('app@solo')
    expect(found).toMatchObject({
      id,
      name: 'app@solo',
      addresses: [{ host: '127.0.0.50', port: 4500 }],
      source: 'dns',
    })
    expect(await d.list()).toEqual([])
  })

  it('falls back to A/AAAA of the host with defaultPort', async () => {
    const id = testId('plain')
    server.records = [
      { name: `${id}.${DOMAIN}`, type: 'A', address: '127.0.0.51' },
      { name: `${id}.${DOMAIN}`, type: 'AAAA', address: '::51' },
    ]
    const d = backend(server.address, { defaultPort: 9999 })
    await d.start()
    expect(await d.lookup(id)).toMatchObject({
      id,
      addresses: [
        { host: '127.0.0.51', port: 9999 },
        { host: '::51', port: 9999 },
      ],
    })
  })

  it('resolves undefined for unknown names and ids, and for port@ip names', async () => {
    const d = backend(server.address)
    await d.start()
    expect(await d.lookup('nobody@nowhere')).toBeUndefined()
    expect(await d.lookup(testId('absent'))).toBeUndefined()
    expect(await d.lookup('4000@127.0.0.1')).toBeUndefined()
    expect(await d.lookup('not a name')).toBeUndefined()
  })

  it('rejects with DnsLookupError when DNS fails, and with AbortError when aborted', async () => {
    const d = backend(server.address)
    await d.start()
    server.faults.set('*', 'servfail')
    await expect(d.lookup('x@failing')).rejects.toBeInstanceOf(DnsLookupError)
    server.faults.set('*', 'drop')
    const controller = new AbortController()
    const pending = d.lookup('y@slow', { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await expect(d.lookup('z@x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })
})

describe('lifecycle', () => {
  it('an aborted start leaves the backend stopped and sends nothing more', async () => {
    server.faults.set('*', 'drop')
    const d = backend(server.address, { timeoutMs: 2000 })
    const controller = new AbortController()
    const starting = d.start({ signal: controller.signal })
    setTimeout(() => controller.abort(), 30)
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(d.started).toBe(false)
    const count = server.queries.length
    await sleep(300)
    expect(server.queries.length).toBe(count)
  })

  it('stop() ends polling', async () => {
    server.defaultTtl = 0
    server.records = peerZone('stopper').records
    const d = backend(server.address)
    await d.start()
    await d.stop()
    const count = server.queries.length
    await sleep(300)
    expect(server.queries.length).toBe(count)
  })
})

describe('logging', () => {
  it('logs through the injected logger under peer:discovery:dns', async () => {
    server.records = peerZone('logged').records
    const { factory: logger, records } = recordingLogger()
    const d = backend(server.address, { logger })
    await d.start()
    expect(records.map((r) => `${r.namespace} ${r.level} ${r.message}`)).toContain(
      'peer:discovery:dns debug service polled',
    )
  })
})

describe('a service with no SRV records', () => {
  const absent = (records: ReturnType<typeof recordingLogger>['records']) =>
    records.filter((r) => r.level === 'warn' && r.message.startsWith('no SRV records for the service'))

  it('says so once at warn when it was never there since the start (a wrong domain?)', async () => {
    server.records = []
    const { factory: logger, records } = recordingLogger()
    const d = backend(server.address, { logger })
    await d.start()
    await waitFor(() => d.dnsStats.polls >= 3, { timeoutMs: 30_000, what: 'three polls' })
    expect(absent(records)).toHaveLength(1)
    expect(absent(records)[0]!.fields).toMatchObject({ service: SERVICE, reason: expect.any(String) })
    // a restart says it again
    await d.stop()
    await d.start()
    expect(absent(records)).toHaveLength(2)
  })

  it('says nothing when the service was there and went away (peers lost, as events)', async () => {
    server.records = peerZone('there').records
    const { factory: logger, records } = recordingLogger()
    const d = backend(server.address, { logger })
    const lost = nextEvent(d, 'peer:lost')
    await d.start()
    expect(await ids(d)).toHaveLength(1)
    server.records = []
    await lost
    await waitFor(() => d.dnsStats.polls >= 4, { timeoutMs: 30_000, what: 'more polls' })
    expect(absent(records)).toEqual([])
  })
})

describe('configuration errors', () => {
  it('still takes the deprecated seconds names (minTtl, maxTtl, staleAfter, retryDelay, ...) with one warning each', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const old = {
        minTtl: 0.5,
        maxTtl: 30,
        negativeTtl: 1,
        maxNegativeTtl: 30,
        staleAfter: 60,
        retryDelay: 0.5,
      }
      new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, ...old })
      new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, ...old })
      expect(warn).toHaveBeenCalledTimes(6)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/`minTtl` is deprecated; use `minTtlMs`/)
      // the old unit is seconds: 0.5 s is below a 1000 ms minimum given the new way
      expect(
        () => new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, minTtlMs: 1000, maxTtl: 0.5 }),
      ).toThrow(/maxTtlMs must be a number >= 1000/)
      expect(
        () =>
          new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, staleAfter: 1, staleAfterMs: 5 }),
      ).toThrow(DnsConfigError)
    } finally {
      warn.mockRestore()
    }
  })

  it('has no default resolver: a missing or empty list is a DnsConfigError', () => {
    expect(() => new DnsDiscovery({ domain: DOMAIN } as never)).toThrow(DnsConfigError)
    expect(() => new DnsDiscovery(undefined as never)).toThrow(DnsConfigError)
    expect(() => new DnsDiscovery({ domain: DOMAIN, resolvers: [] })).toThrow(/at least one/)
    expect(() => new DnsDiscovery({ domain: DOMAIN, resolvers: ['dns.google:53'] })).toThrow(/IP literal/)
  })

  it('needs a domain or a service name, and sane numbers', () => {
    expect(() => new DnsDiscovery({ resolvers: ['127.0.0.1:53'] })).toThrow(DnsConfigError)
    for (const bad of [
      { minTtlMs: -1000 },
      { maxTtlMs: 1 },
      { jitter: 2 },
      { staleAfterMs: Number.NaN },
      { concurrency: 0 },
      { maxCacheEntries: 1.5 },
      { maxSrvRecords: -1 },
      { defaultPort: 0 },
      { families: [] },
      { families: [5] as never },
      { service: '' },
      { domain: 'a..b' },
    ]) {
      expect(
        () => new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, ...bad }),
        JSON.stringify(bad),
      ).toThrow(DnsConfigError)
    }
    expect(
      () => new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: DOMAIN, idSource: 'x' as never }),
    ).toThrow(DnsConfigError)
    const d = new DnsDiscovery({ resolvers: '127.0.0.1:53', service: '_x._tcp.svc.example' })
    expect(d.service).toBe('_x._tcp.svc.example')
    expect(d.domain).toBe('svc.example')
    expect(new DnsDiscovery({ resolvers: ['127.0.0.1:53'], domain: 'Peer.Test.' }).service).toBe(
      '_peer._udp.peer.test',
    )
  })
})

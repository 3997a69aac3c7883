// Self-healing against a real etcd: lost leases, deleted keys, compacted watches, a registry that
// blinks or is cut off (a TCP proxy the test controls), kill -9 and restarts with an EMPTY data dir.
import { type EtcdCluster, startEtcd, startTcpProxy, type TcpProxy } from '@peer/testkit/etcd'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { throwingLogger } from '@peer/testkit/throwing-logger'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { KEEPALIVE_MS, nodeKey } from '../src/index.js'
import { backend, leaseOf, node, stopAll, uniquePrefix } from './helpers.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

const proxies: TcpProxy[] = []
async function proxy(): Promise<TcpProxy> {
  const p = await startTcpProxy(etcd.members[0]!.clientPort)
  proxies.push(p)
  return p
}
afterEach(async () => {
  await stopAll() // before the proxies go away
  await Promise.all(proxies.map((p) => p.close()))
  proxies.length = 0
})

const keyExists = async (key: string) => (await etcd.etcdctl(['get', key, '--keys-only'])).trim() === key

/** Revokes the lease `key` is attached to behind the backend's back; waits until it is put again under a new one. */
async function revokeAndWaitForNewLease(key: string): Promise<void> {
  const before = leaseOf(await etcd.etcdctl(['get', key, '-w', 'json']))!
  await etcd.etcdctl(['lease', 'revoke', before])
  await waitFor(async () => {
    const now = leaseOf(await etcd.etcdctl(['get', key, '-w', 'json']))
    return now !== undefined && now !== before
  })
}

describe('lease and key loss', () => {
  it('grants a new lease and puts again when the lease is revoked behind its back', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
    await a.start()
    const self = node('revoked')
    await a.announce(self)
    await revokeAndWaitForNewLease(nodeKey(prefix, self.id))
    expect(a.etcdStats.leaseLosses).toBeGreaterThanOrEqual(1)
    expect(a.etcdStats.leaseGrants).toBe(2)
  })

  it('a logger that throws cannot crash the process from the lease callbacks (they run in etcd3 streams)', async () => {
    const prefix = uniquePrefix()
    const a = backend({
      endpoints: etcd.endpoints,
      prefix,
      ttl: 5,
      logger: throwingLogger(),
    })
    await a.start()
    const self = node('loud')
    await a.announce(self)
    await revokeAndWaitForNewLease(nodeKey(prefix, self.id))
    expect(a.etcdStats.leaseLosses).toBeGreaterThanOrEqual(1)
  })

  it('puts the key back when someone deletes it', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
    await a.start()
    const self = node('deleted')
    await a.announce(self)
    const key = nodeKey(prefix, self.id)
    await etcd.etcdctl(['del', key])
    await waitFor(() => keyExists(key))
    expect(a.etcdStats.reannounces).toBeGreaterThanOrEqual(1)
  })

  it('puts its value back when someone overwrites the key, but fights another writer at most once per TTL', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 2 })
    await a.start()
    const self = node('overwritten', 4000)
    await a.announce(self)
    const key = nodeKey(prefix, self.id)
    const foreign = JSON.stringify({ v: 1, id: self.id, addresses: [{ host: '127.0.0.9', port: 9 }] })
    const current = async () => etcd.etcdctl(['get', key, '--print-value-only'])
    await etcd.etcdctl(['put', key, foreign])
    await waitFor(async () => (await current()).includes('"port":4000'))
    // a second overwrite right away is left alone until the TTL window has passed
    await etcd.etcdctl(['put', key, foreign])
    await sleep(300)
    expect(await current()).toContain('"port":9')
    await waitFor(async () => (await current()).includes('"port":4000'), { timeoutMs: 4000 })
    expect(leaseOf(await etcd.etcdctl(['get', key, '-w', 'json']))).toBeDefined()
  })

  it('when keepalives are cut off longer than the TTL: peers see it expire, then it comes back with a new lease', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const a = backend({ endpoints: p.endpoint, prefix, ttl: 1, staleAfterMs: 60_000 })
    const b = backend({ endpoints: etcd.endpoints, prefix })
    await Promise.all([a.start(), b.start()])
    const self = node('partitioned')
    await a.announce(self)
    await waitFor(() => b.lookup(self.id))
    p.cut()
    // generous budgets: when broken, neither event ever comes (no slower path produces them)
    const lost = await nextEvent<CustomEvent>(b, 'peer:lost', undefined, 30_000)
    expect(lost.detail.record.id).toBe(self.id)
    p.heal()
    await nextEvent<CustomEvent>(b, 'peer:discovered', (e) => e.detail.record.id === self.id, 30_000)
    expect(a.etcdStats.leaseGrants).toBeGreaterThanOrEqual(2)
  }, 120_000)
})

describe('watch cancelled or compacted', () => {
  it('re-lists, diffs and resumes when the watch revision was compacted while cut off', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
    // staleAfterMs out of reach: a stale drop cannot stand in for the re-list within the budgets below
    const watcher = backend({ endpoints: p.endpoint, prefix, staleAfterMs: 600_000, maxRetryDelayMs: 200 })
    await Promise.all([a.start(), watcher.start()])
    const gone = node('gone')
    await a.announce(gone)
    await waitFor(() => watcher.lookup(gone.id))
    const rec = recordEvents(watcher, ['peer:discovered', 'peer:lost'])
    p.cut()
    await sleep(100)
    // while the watcher is away: one node leaves, one arrives, history is compacted
    await a.withdraw()
    const arrived = node('arrived', 4555)
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, arrived.id),
      JSON.stringify({ v: 1, id: arrived.id, addresses: [{ host: '127.0.0.1', port: 4555 }] }),
    ])
    for (let i = 0; i < 5; i++) await etcd.etcdctl(['put', `${prefix}/noise`, String(i)])
    await etcd.compact()
    p.heal()
    // generous: without a re-list these events never come
    await waitFor(() => rec.of('peer:lost').length === 1 && rec.of('peer:discovered').length === 1, {
      timeoutMs: 30_000,
    })
    expect((rec.of('peer:lost')[0]!.detail as { record: { id: string } }).record.id).toBe(gone.id)
    expect((rec.of('peer:discovered')[0]!.detail as { record: { id: string } }).record.id).toBe(arrived.id)
    // etcd answers the reconnect with `created` and then cancels the compacted watch: either one
    // makes the backend re-list (start + at least one more)
    expect(watcher.etcdStats.resyncs).toBeGreaterThanOrEqual(2)
    // and the new watch works
    const late = node('late')
    const found = nextEvent<CustomEvent>(watcher, 'peer:discovered', undefined, 30_000)
    await a.announce(late)
    expect((await found).detail.record.id).toBe(late.id)
  }, 120_000)
})

describe('etcd unreachable', () => {
  it('keeps the last known peers while cut off shorter than staleLimit, then catches up', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
    // the cut lasts a few seconds, longer under load: the watcher's lease (15 s) and staleAfterMs
    // (20 s) keep a wide margin over it
    const watcher = backend({
      endpoints: p.endpoint,
      prefix,
      ttl: 15,
      staleAfterMs: 20_000,
      maxRetryDelayMs: 200,
    })
    // b reaches etcd directly and starts before the cut, so the cut does not wait for it
    const b = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
    await Promise.all([a.start(), watcher.start(), b.start()])
    const known = node('known')
    await a.announce(known)
    // the cut-off node announces too: a cut shorter than its TTL must not cost it its lease
    const behind = node('behind')
    await watcher.announce(behind)
    await waitFor(async () => (await watcher.lookup(known.id)) && (await a.lookup(behind.id)))
    const rec = recordEvents(watcher, ['peer:lost', 'peer:discovered'])
    const recA = recordEvents(a, ['peer:lost'])
    p.cut()
    await waitFor(() => !watcher.connected)
    await sleep(1500)
    expect(rec.events).toEqual([])
    expect((await watcher.list()).map((r) => r.id)).toEqual([known.id])
    const newcomer = node('newcomer')
    await b.announce(newcomer)
    p.heal()
    // generous: without the reconnection neither ever happens (a stale drop would fail the asserts below)
    await waitFor(() => rec.of('peer:discovered').length === 1, { timeoutMs: 30_000 })
    await waitFor(() => watcher.connected, { timeoutMs: 30_000 })
    expect(rec.of('peer:lost')).toEqual([])
    expect(recA.events).toEqual([])
    expect(watcher.etcdStats.leaseGrants).toBe(1)
    expect(watcher.etcdStats.leaseLosses).toBe(0)
  }, 120_000)

  it.each([
    // 6 s: a tenth of the default staleAfterMs (60 s) that an ignored staleAfterMs would leave
    { partition: 'a cut (connections reset)', start: (p: TcpProxy) => p.cut(), withinMs: 6000 },
    // nothing tells the client: only the HTTP/2 keepalive pings (KEEPALIVE_MS + requestTimeout) do
    {
      partition: 'a silent partition (nothing gets through, nothing reset)',
      start: (p: TcpProxy) => p.blackhole(),
      withinMs: KEEPALIVE_MS + 20_000,
    },
  ])(
    'after $partition: peers are lost with reason stale after staleLimit, and found again when etcd answers',
    async ({ start, withinMs }) => {
      const prefix = uniquePrefix()
      const p = await proxy()
      const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 5 })
      // the consistency check out of reach: only the reconnection can bring the peer back in time
      const watcher = backend({
        endpoints: p.endpoint,
        prefix,
        staleAfterMs: 500,
        maxRetryDelayMs: 200,
        checkIntervalMs: 600_000,
      })
      await Promise.all([a.start(), watcher.start()])
      const known = node('stale')
      await a.announce(known)
      await waitFor(() => watcher.lookup(known.id))
      start(p)
      const lost = await nextEvent<CustomEvent>(watcher, 'peer:lost', undefined, withinMs)
      expect(lost.detail.reason).toBe('stale')
      expect(watcher.etcdStats.staleDrops).toBe(1)
      p.heal()
      // generous: without the reconnection and re-list it never comes
      await nextEvent<CustomEvent>(watcher, 'peer:discovered', undefined, 30_000)
    },
    120_000,
  )
})

describe('stop', () => {
  it('stop() while etcd is unreachable resolves quickly and leaves no timers, sockets or handles', async () => {
    const p = await proxy()
    const count = () => {
      const counts = new Map<string, number>()
      for (const t of process.getActiveResourcesInfo()) counts.set(t, (counts.get(t) ?? 0) + 1)
      return counts
    }
    await sleep(50)
    const before = count()
    // every request's time limit out of the test's reach: a stop that waits for etcd to answer
    // (rather than taking the refused connections as the answer) runs into the test's timeout.
    // The TTL (a leaked lease retries its keepalive until 2 x TTL) and staleAfterMs (a leaked stale
    // timer) are out of reach too: nothing left behind can go away by itself within the budget
    const a = backend({
      endpoints: p.endpoint,
      prefix: uniquePrefix(),
      ttl: 300,
      staleAfterMs: 600_000,
      requestTimeoutMs: 600_000,
    })
    await a.start()
    await a.announce(node('stranded'))
    p.cut()
    await waitFor(() => !a.connected)
    await a.stop()
    await waitFor(
      () => {
        const now = count()
        return [...now].every(([type, n]) => n <= (before.get(type) ?? 0))
      },
      { timeoutMs: 30_000, what: 'resources released' },
    )
  })
})

describe('etcd killed and restarted', () => {
  it('kill -9 and restart on the same data: no peer:lost, lease kept, no request refused by a circuit breaker', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 2 })
    const { factory: logger, records } = recordingLogger()
    const b = backend({ endpoints: etcd.endpoints, prefix, ttl: 2, logger })
    await Promise.all([a.start(), b.start()])
    const na = node('a')
    const nb = node('b')
    await Promise.all([a.announce(na), b.announce(nb)])
    await waitFor(async () => (await a.list()).length === 1 && (await b.list()).length === 1)
    const rec = recordEvents(b, ['peer:lost'])
    await etcd.kill()
    // lookups while etcd is down fail: three failures in a row open etcd3's default per-host
    // circuit breaker, which refuses every request for 5 s after (4-15 s to recover here)
    let down = true
    const lookups = (async () => {
      while (down) {
        await b.lookup(node('while-down').id)
        await sleep(50)
      }
    })()
    await sleep(800)
    await etcd.restart()
    down = false
    await lookups
    const extra = node('after-restart')
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, extra.id),
      JSON.stringify({ v: 1, id: extra.id, addresses: [{ host: '127.0.0.1', port: 1 }] }),
    ])
    await waitFor(() => b.lookup(extra.id), { timeoutMs: 30_000, intervalMs: 10 })
    // the tuned client has no such breaker, so nothing was refused by one: its requests reach etcd
    // as soon as it is back (about 0.1 s here; a time for benchmarks, not asserted on)
    const refused = records.filter((r) => /circuit breaker/i.test(String(r.fields?.error ?? '')))
    expect(refused.length, 'requests refused by a circuit breaker').toBe(0)
    await sleep(2500) // longer than the TTL: the leases must still be alive
    expect(rec.events).toEqual([])
    expect(await keyExists(nodeKey(prefix, na.id))).toBe(true)
    expect(a.etcdStats.leaseLosses).toBe(0)
  })

  it('an outage longer than 2 x TTL: the lease is given up locally, a new one is granted when etcd returns', async () => {
    const prefix = uniquePrefix()
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 1 })
    const b = backend({ endpoints: etcd.endpoints, prefix, ttl: 1 })
    await Promise.all([a.start(), b.start()])
    const na = node('long-a')
    await a.announce(na)
    await waitFor(() => b.lookup(na.id))
    const rec = recordEvents(b, ['peer:lost', 'peer:discovered'])
    await etcd.kill()
    // etcd stays away until the lease is given up locally (2 x TTL after its last keepalive): a
    // wait on the counter, not a fixed outage that a loaded machine's late timers could outlast
    await waitFor(() => a.etcdStats.leaseLosses >= 1, { timeoutMs: 30_000 })
    await etcd.restart()
    await waitFor(() => a.etcdStats.leaseGrants >= 2, { timeoutMs: 30_000 })
    await sleep(2000) // the old lease (re-armed by the restart) has expired by now
    expect(await keyExists(nodeKey(prefix, na.id))).toBe(true)
    expect(a.etcdStats.leaseLosses).toBeGreaterThanOrEqual(1)
    expect(await b.lookup(na.id)).toBeDefined()
    expect(rec.of('peer:lost')).toEqual([])
  }, 120_000)

  it('restart with an EMPTY data dir: detects the reset, re-announces, no mass peer:lost', async () => {
    const prefix = uniquePrefix()
    // the 30 s consistency check out of reach: it would find the reset even with the re-list broken
    const a = backend({ endpoints: etcd.endpoints, prefix, ttl: 1, checkIntervalMs: 600_000 })
    const b = backend({ endpoints: etcd.endpoints, prefix, ttl: 1, checkIntervalMs: 600_000 })
    await Promise.all([a.start(), b.start()])
    const na = node('wa')
    const nb = node('wb')
    await Promise.all([a.announce(na), b.announce(nb)])
    // a node registered by another tool that will not come back after the reset
    const ghost = node('ghost')
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, ghost.id),
      JSON.stringify({ v: 1, id: ghost.id, addresses: [{ host: '127.0.0.1', port: 1 }] }),
    ])
    // enough history that the new cluster's revision stays below the old one
    for (let i = 0; i < 20; i++) await etcd.etcdctl(['put', `${prefix}/noise`, String(i)])
    await waitFor(async () => (await b.list()).length === 2)
    const rec = recordEvents(b, ['peer:lost', 'peer:discovered'])
    await etcd.restart(0, { wipe: true })
    // generous budgets: when broken, what they wait for never happens
    await waitFor(
      async () => (await keyExists(nodeKey(prefix, na.id))) && keyExists(nodeKey(prefix, nb.id)),
      {
        timeoutMs: 30_000,
      },
    )
    expect(a.etcdStats.resets + b.etcdStats.resets).toBeGreaterThanOrEqual(1)
    // the ghost is lost only after the grace period (2 x TTL); the live peer never is
    const lost = await nextEvent<CustomEvent>(b, 'peer:lost', undefined, 30_000)
    expect(lost.detail.record.id).toBe(ghost.id)
    expect(rec.of('peer:lost')).toHaveLength(1)
    expect(rec.of('peer:discovered')).toEqual([])
    // and the watch works on the new cluster
    const fresh = node('fresh')
    const found = nextEvent<CustomEvent>(b, 'peer:discovered', undefined, 30_000)
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, fresh.id),
      JSON.stringify({ v: 1, id: fresh.id, addresses: [{ host: '127.0.0.1', port: 1 }] }),
    ])
    expect((await found).detail.record.id).toBe(fresh.id)
  }, 150_000)
  it('detects a new cluster id even when the new revision is not lower (cut off during the swap)', async () => {
    const fresh = await startEtcd()
    try {
      const p = await startTcpProxy(fresh.members[0]!.clientPort)
      proxies.push(p)
      const prefix = uniquePrefix()
      // the 30 s consistency check out of reach: it would find the reset even with the re-list broken
      const a = backend({
        endpoints: p.endpoint,
        prefix,
        ttl: 5,
        maxRetryDelayMs: 200,
        checkIntervalMs: 600_000,
      })
      await a.start()
      const self = node('swapped')
      await a.announce(self)
      const before = await fresh.revision()
      p.cut()
      await fresh.restart(0, { wipe: true, newClusterId: true })
      for (let i = 0; i <= before + 3; i++) await fresh.etcdctl(['put', `${prefix}/noise`, String(i)])
      expect(await fresh.revision()).toBeGreaterThan(before)
      p.heal()
      await waitFor(() => a.etcdStats.resets >= 1, { timeoutMs: 30_000 })
      await waitFor(
        async () => (await fresh.etcdctl(['get', nodeKey(prefix, self.id), '--keys-only'])).includes(self.id),
        { timeoutMs: 30_000 },
      )
    } finally {
      await stopAll()
      await fresh.close()
    }
  }, 120_000)
})

// pnpm bench etcd: discovery convergence and peer-lost detection for N nodes on a real etcd
// (Debian's etcd-server on loopback), steady-state etcd requests per node, and recovery after
// kill -9, each next to a baseline measured in the same run with a bare etcd3 client.

import { createEtcdClient, EtcdDiscovery } from '@peer/discovery-etcd'
import { startEtcd, startTcpProxy, type TcpProxy } from '@peer/testkit/etcd'
import { testId } from '@peer/testkit/ids'
import type { Measurement, Suite } from '../report.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench etcd: timed out waiting for ${what}`)
    await sleep(2)
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

const suite: Suite = {
  name: 'etcd',
  description: 'discovery-etcd: convergence, lost detection, requests per node, recovery after kill -9',
  async run({ quick }) {
    const n = quick ? 10 : 50
    const ttl = 2
    const steadyMs = quick ? 4000 : 12_000
    const etcd = await startEtcd({ fast: false })
    const prefix = `/bench-${process.pid}`
    const measurements: Measurement[] = []
    const notes: string[] = [
      `${n} nodes in one process, each with its own etcd client, lease TTL ${ttl} s, one etcd 3.4 member on loopback (default election settings).`,
    ]
    const backends: EtcdDiscovery[] = []
    let proxy: TcpProxy | undefined
    const raw = createEtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 3000, maxRetryDelayMs: 1000 })
    try {
      // ---- baseline: one put seen by one bare watcher
      const watcher = await raw.watch().prefix(`${prefix}/raw/`).create()
      const latencies: number[] = []
      for (let i = 0; i < 20; i++) {
        const seen = new Promise<void>((resolve) => watcher.once('put', () => resolve()))
        const t0 = performance.now()
        await raw.put(`${prefix}/raw/k${i}`).value('x')
        await seen
        latencies.push(performance.now() - t0)
      }
      measurements.push({ name: 'bare etcd3: put -> watch event', value: median(latencies), unit: 'ms' })
      await watcher.cancel()

      // ---- baseline: the same work with bare clients (N clients each grant a lease and put one key,
      // each watches the prefix) until every watcher has seen every key
      {
        const clients = Array.from({ length: n }, () =>
          createEtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 3000, maxRetryDelayMs: 1000 }),
        )
        const seen = clients.map(() => new Set<string>())
        const watchers = await Promise.all(
          clients.map(async (c, i) => {
            const w = await c.watch().prefix(`${prefix}/rawconv/`).create()
            w.on('put', (kv) => seen[i]!.add(kv.key.toString()))
            return w
          }),
        )
        const leases = clients.map((c) => c.lease(ttl))
        const t = performance.now()
        await Promise.all(leases.map((l, i) => l.put(`${prefix}/rawconv/${i}`).value(`{"i":${i}}`)))
        await until(() => seen.every((s) => s.size === n), 30_000, 'bare convergence')
        measurements.push({
          name: `bare etcd3: ${n} clients lease + put, all watchers see all`,
          value: performance.now() - t,
          unit: 'ms',
        })
        await Promise.all(watchers.map((w) => w.cancel()))
        await Promise.all(leases.map((l) => l.revoke()))
        for (const c of clients) c.close()
      }

      // ---- convergence: N nodes announce at once; until every node knows the N - 1 others
      proxy = await startTcpProxy(etcd.members[0]!.clientPort)
      for (let i = 0; i < n; i++) {
        // node 0 talks through a proxy so that it can be "crashed" (cut off) later
        const endpoints = i === 0 ? [proxy.endpoint] : etcd.endpoints
        backends.push(new EtcdDiscovery({ endpoints, prefix, ttl, checkIntervalMs: 30_000 }))
      }
      await Promise.all(backends.map((b) => b.start()))
      const selves = backends.map((_, i) => ({
        id: testId(`bench-etcd-${process.pid}-${i}`),
        name: `n${i}@bench`,
        addresses: [{ host: '127.0.0.1', port: 10_000 + i }],
      }))
      let t0 = performance.now()
      await Promise.all(backends.map((b, i) => b.announce(selves[i]!)))
      const counts = () => Promise.all(backends.map(async (b) => (await b.list()).length))
      await until(async () => (await counts()).every((c) => c === n - 1), 30_000, 'convergence')
      measurements.push({
        name: `convergence: ${n} nodes announce, all see all`,
        value: performance.now() - t0,
        unit: 'ms',
        baseline: `bare etcd3: ${n} clients lease + put, all watchers see all`,
      })

      // ---- a late joiner lists everyone
      const late = new EtcdDiscovery({ endpoints: etcd.endpoints, prefix, ttl })
      t0 = performance.now()
      await late.start()
      const lateKnown = (await late.list()).length
      measurements.push({
        name: `late joiner: start() lists ${lateKnown} peers`,
        value: performance.now() - t0,
        unit: 'ms',
        baseline: 'bare etcd3: put -> watch event',
      })
      await late.stop()

      // ---- steady state: etcd requests per node per second
      const before = backends.map((b) => b.etcdStats)
      const rawLease = raw.lease(ttl)
      let rawKeepalives = 0
      rawLease.on('keepaliveFired', () => rawKeepalives++)
      await rawLease.grant()
      await sleep(steadyMs)
      const after = backends.map((b) => b.etcdStats)
      await rawLease.revoke()
      let total = 0
      for (let i = 0; i < n; i++) {
        total += after[i]!.requests - before[i]!.requests + (after[i]!.keepalives - before[i]!.keepalives)
      }
      const seconds = steadyMs / 1000
      measurements.push({
        name: 'bare etcd3 lease: keepalives/s',
        value: rawKeepalives / seconds,
        unit: 'req/s',
      })
      measurements.push({
        name: 'steady state: etcd requests/s per node',
        value: total / n / seconds,
        unit: 'req/s',
        baseline: 'bare etcd3 lease: keepalives/s',
        notes: 'keepalives (every TTL/3) + consistency checks',
      })

      // ---- lost detection: graceful withdraw
      const others = backends.slice(2)
      const lostAt = new Map<EtcdDiscovery, number>()
      const onLost = (target: string) => (b: EtcdDiscovery) => {
        const listener = (e: Event) => {
          if ((e as CustomEvent<{ record: { id: string } }>).detail.record.id !== target) return
          lostAt.set(b, performance.now())
          b.removeEventListener('peer:lost', listener)
        }
        b.addEventListener('peer:lost', listener)
      }
      others.forEach(onLost(selves[1]!.id))
      t0 = performance.now()
      await backends[1]!.withdraw()
      await until(() => lostAt.size === others.length, 10_000, 'withdraw detection')
      measurements.push({
        name: 'lost detection: withdraw, all others see peer:lost',
        value: Math.max(...lostAt.values()) - t0,
        unit: 'ms',
        baseline: 'bare etcd3: put -> watch event',
      })

      // ---- baseline: a bare lease without keepalive, from put to the delete event
      {
        const lease = raw.lease(ttl, { autoKeepAlive: false })
        const key = `${prefix}/raw/expiring`
        const w = await raw.watch().key(key).create()
        const deleted = new Promise<void>((resolve) => w.once('delete', () => resolve()))
        await lease.put(key).value('x')
        const start = performance.now()
        await deleted
        measurements.push({
          name: `bare etcd3: lease (TTL ${ttl} s) expiry -> delete event`,
          value: performance.now() - start,
          unit: 'ms',
        })
        await w.cancel()
      }

      // ---- lost detection: crash (node 0 cut off: no withdraw, its lease expires)
      lostAt.clear()
      others.forEach(onLost(selves[0]!.id))
      t0 = performance.now()
      proxy.cut()
      await until(() => lostAt.size === others.length, 20_000, 'crash detection')
      measurements.push({
        name: 'lost detection: crash (keepalives stop), all others see peer:lost',
        value: Math.max(...lostAt.values()) - t0,
        unit: 'ms',
        baseline: `bare etcd3: lease (TTL ${ttl} s) expiry -> delete event`,
        notes: 'bounded by the lease TTL; the last keepalive was 0..TTL/3 before the cut',
      })
      await backends[0]!.stop()
      backends.shift()

      // ---- recovery after kill -9 + restart: tuned client vs the default etcd3 fault handling
      const defaultClient = new (raw.constructor as new (o: { hosts: string[] }) => typeof raw)({
        hosts: etcd.endpoints,
      })
      const defaultWatch = await defaultClient.watch().prefix(`${prefix}/nodes/`).create()
      let defaultSeen = 0
      const probe = testId(`bench-etcd-probe-${process.pid}`)
      defaultWatch.on('put', (kv) => {
        if (kv.key.toString().endsWith(probe)) defaultSeen = performance.now()
      })
      defaultWatch.on('error', () => {})
      // like a discovery node: a kept-alive lease, and a request during the outage
      const defaultLease = defaultClient.lease(ttl)
      defaultLease.on('lost', () => {})
      await defaultLease.grant()
      await etcd.kill()
      await defaultClient
        .get('probe')
        .string()
        .catch(() => {})
      await sleep(1000)
      await etcd.restart()
      const up = performance.now()
      const writer = createEtcdClient({
        endpoints: etcd.endpoints,
        requestTimeoutMs: 3000,
        maxRetryDelayMs: 1000,
      })
      await writer
        .put(`${prefix}/nodes/${probe}`)
        .value(JSON.stringify({ v: 1, id: probe, addresses: [{ host: '127.0.0.1', port: 1 }] }))
      writer.close()
      const alive = backends.slice(1) // node 1 withdrew but still watches
      await until(
        async () => (await Promise.all(alive.map((b) => b.lookup(probe)))).every((r) => r !== undefined),
        30_000,
        'recovery',
      )
      const tuned = performance.now() - up
      await until(() => defaultSeen > 0, 30_000, 'default client recovery').catch(() => {})
      measurements.push({
        name: 'bare etcd3, default fault handling (watch + lease): watch back after restart',
        value: defaultSeen > 0 ? defaultSeen - up : 30_000,
        unit: 'ms',
        notes: defaultSeen > 0 ? undefined : 'did not recover within 30 s',
      })
      measurements.push({
        name: `recovery: all ${alive.length} nodes see a key written after kill -9 + restart`,
        value: tuned,
        unit: 'ms',
        baseline: 'bare etcd3, default fault handling (watch + lease): watch back after restart',
        target: '<= ~1000',
      })
      await defaultWatch.cancel().catch(() => {})
      defaultLease.release()
      defaultClient.close()
      const lost = backends.reduce((s, b) => s + b.etcdStats.leaseLosses, 0)
      notes.push(`lease losses across the kill -9 (1 s outage, TTL ${ttl} s): ${lost}`)
    } finally {
      await Promise.all(backends.map((b) => b.stop().catch(() => {})))
      raw.close()
      await proxy?.close()
      await etcd.close()
    }
    return { suite: 'etcd', measurements, notes }
  },
}

export default suite

// pnpm bench mdns: mDNS discovery between nodes spread over network namespaces joined by a bridge
// (never the root namespace: every node lives in a child process inside a namespace, created by
// @peer/testkit). Measures, in one run:
// - convergence: from "every node starts and announces" to "every node knows every other", for 2
//   nodes (the baseline), 10 and 50 nodes;
// - time to peer:lost after a goodbye (withdraw) and after kill -9 (no goodbye), next to the
//   record TTL (the baseline: a crash can only be noticed when the records expire);
// - packets per minute per node in steady state (sent and received), for 10 nodes next to 2;
// - under attack: time until a new node joining is discovered while 1,000 junk packets/s arrive
//   (SRV-only / TXT-only / port-0 / dangling PTR records under ever new names, implausible
//   headers, random bytes), next to the same join without the attack, trials interleaved.
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { testId } from '@peer/testkit/ids'
import { type BridgeTopology, createBridgeTopology } from '@peer/testkit/netns'
import { type BackendHost, type RemoteBackend, spawnBackendHost } from '@peer/testkit/remote-backend'
import type { Measurement, Suite } from '../report.js'

// the bench package does not depend on @peer/discovery-mdns: its test fixture hosts the backends
const HOST = fileURLToPath(
  new URL('../../../../packages/discovery-mdns/test/fixtures/mdns-host.ts', import.meta.url),
)
const TTL = 10
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface MdnsCounters {
  packetsSent: number
  packetsReceived: number
}

interface Cluster {
  topo: BridgeTopology
  hosts: BackendHost[]
  nodes: RemoteBackend[]
  selves: Array<{ id: string; name: string; addresses: Array<{ host: string; port: number }> }>
  /** per node: peer id -> time (performance.now()) of peer:discovered */
  seen: Array<Map<string, number>>
  /** per node: peer id -> time of peer:lost */
  lost: Array<Map<string, number>>
  close(): Promise<void>
}

async function cluster(label: string, count: number, namespaces: number): Promise<Cluster> {
  const topo = await createBridgeTopology({ count: namespaces, label: `bench-${label}` })
  const hosts = await Promise.all(topo.nodes.map((n) => spawnBackendHost(HOST, { netns: n.ns.name })))
  const selves = Array.from({ length: count }, (_, i) => ({
    id: testId(`bench-mdns-${label}-${i}`),
    name: `n${i}@${label}`,
    addresses: [{ host: '0.0.0.0', port: 4000 + i }],
  }))
  const nodes: RemoteBackend[] = []
  const seen: Array<Map<string, number>> = []
  const lost: Array<Map<string, number>> = []
  for (let i = 0; i < count; i++) {
    const node = await hosts[i % namespaces]!.create({ self: selves[i]!.id, ttl: TTL })
    const s = new Map<string, number>()
    const l = new Map<string, number>()
    node.addEventListener('peer:discovered', (e) => {
      s.set((e as CustomEvent<{ record: { id: string } }>).detail.record.id, performance.now())
    })
    node.addEventListener('peer:lost', (e) => {
      l.set((e as CustomEvent<{ record: { id: string } }>).detail.record.id, performance.now())
    })
    nodes.push(node)
    seen.push(s)
    lost.push(l)
  }
  return {
    topo,
    hosts,
    nodes,
    selves,
    seen,
    lost,
    async close() {
      await Promise.allSettled(hosts.map((h) => h.close()))
      await topo.destroy()
    },
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench mdns: ${what} not reached within ${timeoutMs} ms`)
    await sleep(10)
  }
}

/** Starts and announces every node at once; returns ms until every node knows every other. */
async function convergence(c: Cluster): Promise<number> {
  await Promise.all(c.nodes.map((n) => n.start()))
  const t0 = performance.now()
  await Promise.all(c.nodes.map((n, i) => n.announce(c.selves[i]!)))
  const n = c.nodes.length
  await waitUntil(() => c.seen.every((s) => s.size >= n - 1), 60_000, `convergence of ${n} nodes`)
  return Math.max(...c.seen.flatMap((s) => [...s.values()])) - t0
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function counters(nodes: RemoteBackend[]): Promise<MdnsCounters[]> {
  return Promise.all(nodes.map((n) => n.extra<MdnsCounters>('mdnsStats')))
}

/** Packets per minute per node (sent, received) over `windowMs` of steady state. */
async function steadyState(c: Cluster, windowMs: number): Promise<{ sent: number; received: number }> {
  const before = await counters(c.nodes)
  await sleep(windowMs)
  const after = await counters(c.nodes)
  const perMinute = (k: keyof MdnsCounters) =>
    median(after.map((a, i) => ((a[k] - before[i]![k]) * 60_000) / windowMs))
  return { sent: perMinute('packetsSent'), received: perMinute('packetsReceived') }
}

/**
 * Join time with and without 1,000 junk packets/s, interleaved: an observer in namespace 1, the
 * joining node (a new identity each trial) in namespace 2, the attacker in namespace 3.
 */
async function underAttack(trials: number): Promise<{
  calm: number[]
  attacked: number[]
  sent: number
  load: number[]
  observer: Record<string, number>
}> {
  const topo = await createBridgeTopology({ count: 3, label: 'bench-attack' })
  const hosts = await Promise.all(topo.nodes.map((n) => spawnBackendHost(HOST, { netns: n.ns.name })))
  const calm: number[] = []
  const attacked: number[] = []
  const load: number[] = []
  let sent = 0
  let observerStats: Record<string, number> = {}
  try {
    const observer = await hosts[0]!.create({ self: testId('bench-attack-observer'), ttl: TTL })
    await observer.start()
    const seen = new Map<string, number>()
    observer.addEventListener('peer:discovered', (e) => {
      seen.set((e as CustomEvent<{ record: { id: string } }>).detail.record.id, performance.now())
    })
    for (let i = 0; i < trials * 2; i++) {
      const attack = i % 2 === 1
      const id = testId(`bench-attack-join-${i}`)
      const joiner = await hosts[1]!.create({ self: id, ttl: TTL })
      await joiner.start()
      if (attack) {
        await hosts[2]!.child.call('junkStart', { pps: 1000, iface: topo.nodes[2]!.ipv4 })
        await sleep(2000) // the junk has filled the observer's pending budget
      }
      const t0 = performance.now()
      await joiner.announce({ id, name: `join${i}@bench`, addresses: [{ host: '0.0.0.0', port: 5000 + i }] })
      await waitUntil(() => seen.has(id), 30_000, `discovery of joiner ${i}${attack ? ' under attack' : ''}`)
      ;(attack ? attacked : calm).push(seen.get(id)! - t0)
      if (attack) {
        load.push(loadavg()[0]!)
        sent += await hosts[2]!.child.call<number>('junkStop', {})
      }
      await joiner.stop()
      await sleep(1500)
    }
    observerStats = await observer.extra<Record<string, number>>('mdnsStats')
  } finally {
    await Promise.allSettled(hosts.map((h) => h.close()))
    await topo.destroy()
  }
  return { calm, attacked, sent, load, observer: observerStats }
}

const suite: Suite = {
  name: 'mdns',
  description:
    'mDNS discovery across network namespaces: join time under attack, convergence, time to peer:lost, steady-state packets',
  async run({ quick }) {
    const measurements: Measurement[] = []
    const notes: string[] = []
    const window = quick ? 20_000 : 60_000
    const sizes: Array<[number, number]> = [
      [2, 2],
      [10, 5],
      [50, 10],
    ]
    let steady2: { sent: number; received: number } | undefined
    const trials = quick ? 5 : 11
    const load0 = loadavg()[0]!
    const attack = await underAttack(trials)
    measurements.push(
      {
        name: 'join discovered, no attack (median)',
        value: median(attack.calm),
        unit: 'ms',
        notes: `${trials} trials, interleaved with the attacked ones`,
      },
      {
        name: 'join discovered, under 1,000 junk packets/s (median)',
        value: median(attack.attacked),
        unit: 'ms',
        baseline: 'join discovered, no attack (median)',
        target: '<= 2x',
        notes: `${attack.sent} junk datagrams sent; the observer dropped ${attack.observer.implausiblePackets} implausible headers and ${attack.observer.floodDrops} over the rate limit before decoding, evicted ${attack.observer.cacheEvictions} pending entries; load average ${load0.toFixed(2)} before, ${median(attack.load).toFixed(2)} (median) during`,
      },
    )
    for (const [count, namespaces] of sizes) {
      const c = await cluster(`c${count}`, count, namespaces)
      try {
        const ms = await convergence(c)
        measurements.push({
          name: `convergence, ${count} nodes in ${namespaces} namespaces`,
          value: ms,
          unit: 'ms',
          ...(count === 2 ? {} : { baseline: 'convergence, 2 nodes in 2 namespaces' }),
        })
        if (count === 50) continue
        // steady state: let the announcements finish, then count packets
        await sleep(3000)
        const steady = await steadyState(c, window)
        if (count === 2) steady2 = steady
        measurements.push(
          {
            name: `packets sent per minute per node, ${count} nodes`,
            value: steady.sent,
            unit: 'packets/min',
            ...(count === 2 ? {} : { baseline: 'packets sent per minute per node, 2 nodes' }),
          },
          {
            name: `packets received per minute per node, ${count} nodes`,
            value: steady.received,
            unit: 'packets/min',
            ...(count === 2 ? {} : { baseline: 'packets received per minute per node, 2 nodes' }),
          },
        )
        if (count !== 10) continue
        // peer:lost after a goodbye: node 0 withdraws, the others (in other namespaces too) notice
        measurements.push({ name: 'record TTL', value: TTL * 1000, unit: 'ms', notes: 'configured' })
        const tBye = performance.now()
        await c.nodes[0]!.withdraw()
        const byeId = c.selves[0]!.id
        const watchers = c.lost.slice(1)
        await waitUntil(() => watchers.every((l) => l.has(byeId)), 10_000, 'peer:lost after goodbye')
        measurements.push({
          name: 'peer:lost after goodbye (median of 9 observers)',
          value: median(watchers.map((l) => l.get(byeId)! - tBye)),
          unit: 'ms',
          baseline: 'record TTL',
          notes: 'RFC 6762 keeps a goodbye for 1 s before deleting',
        })
        // peer:lost after kill -9: the namespace-0 host dies without goodbyes; nodes elsewhere wait for the TTL
        const crashed = c.nodes.map((_, i) => i).filter((i) => i % namespaces === 1)
        const survivors = c.nodes.map((_, i) => i).filter((i) => i % namespaces !== 1)
        const tCrash = performance.now()
        await c.hosts[1]!.child.crash()
        await waitUntil(
          () => survivors.every((s) => crashed.every((k) => c.lost[s]!.has(c.selves[k]!.id))),
          TTL * 1000 + 10_000,
          'peer:lost after kill -9',
        )
        measurements.push({
          name: `peer:lost after kill -9 (median of ${survivors.length} observers x ${crashed.length} nodes)`,
          value: median(
            survivors.flatMap((s) => crashed.map((k) => c.lost[s]!.get(c.selves[k]!.id)! - tCrash)),
          ),
          unit: 'ms',
          baseline: 'record TTL',
          notes:
            'records age between refreshes, so they expire up to one TTL after the last answer, often < TTL after the crash',
        })
      } finally {
        await c.close()
      }
    }
    notes.push(
      `Nodes live in child processes inside network namespaces joined by a bridge (the bridge in its own namespace); several nodes share a namespace when there are more nodes than namespaces. TTL ${TTL} s (the default is 120 s); IPv4 and IPv6. Steady-state window ${window / 1000} s, medians over nodes.`,
    )
    if (steady2 !== undefined && steady2.sent === 0)
      notes.push('2-node steady state sent no packets in the window.')
    return { suite: 'mdns', measurements, notes }
  },
}

export default suite

// pnpm bench node-messaging (or `pnpm bench node`): @peer/node messaging between two nodes in this
// process, on loopback and through the seeded lossy userland relay (5% loss, 50 ms one-way delay):
// request p50/p99, messages/s, and the latency of a request sent every 20 ms on topic `ping` while
// topic `bulk` carries 1 MB messages back to back. Idle and bulk rounds are interleaved, and the
// ratio "during bulk / idle" is the figure the issue targets (<= 2x).
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'
import type { Measurement, Suite } from '../report.js'

const BULK_BYTES = 1_000_000
const PING_EVERY_MS = 20

interface Pair {
  a: PeerNode
  b: PeerNode
  relay: UdpRelay | undefined
  close(): Promise<void>
}

/** Node `a` dials node `b` (directly, or through a lossy relay); `b` never dials `a`. */
async function pair(lossy: boolean): Promise<Pair> {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const da = new StaticDiscovery()
  const tuning = lossy ? { transport: { maxIdleTimeoutMs: 60_000 } } : {}
  const b = await createNode({
    identity: ib,
    trust: [ia.id],
    name: 'b@bench',
    requestTimeoutMs: 30_000,
    ...tuning,
  })
  const a = await createNode({
    identity: ia,
    trust: [ib.id],
    name: 'a@bench',
    discovery: da,
    requestTimeoutMs: 30_000,
    ...tuning,
  })
  let relay: UdpRelay | undefined
  if (lossy) {
    relay = await createUdpRelay({
      listenHost: '127.0.0.1',
      target: b.address,
      loss: 0.05,
      delayMs: 50,
      seed: 7,
    })
  }
  da.add({ id: b.id, name: b.name, addresses: [relay?.address ?? b.address] })
  await a.waitForPeer(b.id, { timeout: 30_000 })
  await b.waitForPeer(a.id, { timeout: 30_000 })
  return {
    a,
    b,
    relay,
    async close() {
      await Promise.allSettled([a.stop({ timeout: 1000 }), b.stop({ timeout: 1000 })])
      await relay?.close()
    },
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Sequential small requests: p50 / p99 in ms. */
async function requestLatency(p: Pair, n: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await p.a.request(p.b.id, 'echo', i)
    samples.push(performance.now() - t)
  }
  samples.sort((x, y) => x - y)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

/** Small fire-and-forget messages a -> b: messages per second, counted when b handled all. */
async function messageRate(p: Pair, n: number): Promise<number> {
  let got = 0
  let done: () => void = () => {}
  const all = new Promise<void>((resolve) => {
    done = resolve
  })
  const off = p.b.handle('rate', () => {
    if (++got === n) done()
  })
  const t = performance.now()
  for (let i = 0; i < n; i++) await p.a.send(p.b.id, 'rate', i)
  await all
  const s = (performance.now() - t) / 1000
  off()
  return n / s
}

/**
 * A request on `ping` every 20 ms for `ms`; with `bulk`, 1 MB messages on `bulk` back to back
 * meanwhile. Latencies of every ping (a failed one counts as its time to failure).
 */
async function pingRound(
  p: Pair,
  ms: number,
  bulk: boolean,
): Promise<{ samples: number[]; failed: number; bulkMessages: number }> {
  let stop = false
  let bulkMessages = 0
  const payload = new Uint8Array(BULK_BYTES)
  const bulkLoop = (async () => {
    if (!bulk) return
    while (!stop) {
      // priority `bulk` is the lane hint; a node without lanes ignores the option
      await p.a.send(p.b.id, 'bulk', payload, { priority: 'bulk' } as never).catch(() => {})
      bulkMessages++
    }
  })()
  if (bulk) await new Promise((r) => setTimeout(r, 200)) // let the bulk transfer fill the pipe
  const pings: Array<Promise<number | { failedAfter: number }>> = []
  const until = performance.now() + ms
  while (performance.now() < until) {
    const t = performance.now()
    pings.push(
      p.a.request(p.b.id, 'ping', null, { timeout: 30_000 }).then(
        () => performance.now() - t,
        () => ({ failedAfter: performance.now() - t }),
      ),
    )
    await new Promise((r) => setTimeout(r, PING_EVERY_MS))
  }
  const results = await Promise.all(pings)
  stop = true
  await bulkLoop
  const samples = results.map((r) => (typeof r === 'number' ? r : r.failedAfter)).sort((x, y) => x - y)
  return { samples, failed: results.filter((r) => typeof r !== 'number').length, bulkMessages }
}

async function pingDuringBulk(
  lossy: boolean,
  quick: boolean,
  measurements: Measurement[],
  notes: string[],
): Promise<void> {
  const where = lossy ? 'relay 5% loss 50 ms' : 'loopback'
  const p = await pair(lossy)
  try {
    for (const n of [p.a, p.b]) {
      n.handle('ping', () => null, { priority: 'urgent' } as never)
      n.handle('bulk', () => {}, { priority: 'bulk' } as never)
    }
    const rounds = quick ? 1 : 2
    const roundMs = quick ? 2000 : lossy ? 5000 : 3000
    const idle: number[] = []
    const busy: number[] = []
    let failed = 0
    let bulkMessages = 0
    for (let r = 0; r < rounds; r++) {
      idle.push(...(await pingRound(p, roundMs, false)).samples)
      const b = await pingRound(p, roundMs, true)
      busy.push(...b.samples)
      failed += b.failed
      bulkMessages += b.bulkMessages
    }
    idle.sort((x, y) => x - y)
    busy.sort((x, y) => x - y)
    measurements.push(
      { name: `ping p50 idle, ${where}`, value: percentile(idle, 50), unit: 'ms' },
      { name: `ping p99 idle, ${where}`, value: percentile(idle, 99), unit: 'ms' },
      {
        name: `ping p50 during bulk, ${where}`,
        value: percentile(busy, 50),
        unit: 'ms',
        baseline: `ping p50 idle, ${where}`,
        target: '<= 2x idle',
      },
      {
        name: `ping p99 during bulk, ${where}`,
        value: percentile(busy, 99),
        unit: 'ms',
        baseline: `ping p99 idle, ${where}`,
      },
      { name: `pings failed during bulk, ${where}`, value: failed, unit: 'requests' },
      {
        name: `bulk throughput during pings, ${where}`,
        value: (bulkMessages * BULK_BYTES) / 2 ** 20 / ((rounds * roundMs) / 1000),
        unit: 'MiB/s',
      },
    )
    notes.push(
      `${where}: ${idle.length} idle and ${busy.length} during-bulk pings over ${rounds} interleaved rounds of ${roundMs} ms; ${bulkMessages} bulk messages of ${BULK_BYTES} bytes`,
    )
  } finally {
    await p.close()
  }
}

const suite: Suite = {
  name: 'node-messaging',
  description: '@peer/node: request latency, message rate, ping during bulk (loopback and lossy relay)',
  async run({ quick }) {
    const measurements: Measurement[] = []
    const notes: string[] = []
    const p = await pair(false)
    try {
      p.b.handle('echo', (x) => x)
      await requestLatency(p, 200) // warm up
      const { p50, p99 } = await requestLatency(p, quick ? 500 : 3000)
      measurements.push(
        { name: 'request p50, loopback', value: p50, unit: 'ms' },
        { name: 'request p99, loopback', value: p99, unit: 'ms' },
        {
          name: 'messages/s, loopback',
          value: await messageRate(p, quick ? 20_000 : 100_000),
          unit: 'msg/s',
        },
      )
    } finally {
      await p.close()
    }
    await pingDuringBulk(false, quick, measurements, notes)
    await pingDuringBulk(true, quick, measurements, notes)
    return { suite: 'node-messaging', measurements, notes }
  },
}

export default suite

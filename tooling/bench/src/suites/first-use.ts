// pnpm bench first-use: the first request to a member that has no connection yet (it dials: QUIC
// handshake, the transport's confirmation, the node's link, the request) against a request on the
// connection it opened, with @peer/node (`connect: 'on-demand'`), and the same for the raw quinn
// binding with no layer above it (connect, open a stream, 64 bytes there and back) as the floor
// any QUIC stack on this machine starts from. The answering side (nodes, or fresh raw quinn
// servers: a first use meets a server this client never met) runs in a child process
// (src/first-use-child.ts). Node and raw rounds alternate; each round uses a fresh dialer (a new
// node, or a new quinn client endpoint) and every target once; a first round of each warms up
// (JIT) and is not counted.
import { fileURLToPath } from 'node:url'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity, type Identity } from '@peer/identity'
import { createNode } from '@peer/node'
import { spawnChild } from '@peer/testkit/child-process'
import { percentile } from '../bench-stats.js'
import { quinnDialer, quinnKeyOf } from '../quinn-raw.js'
import type { Measurement, Suite } from '../report.js'

const CHILD = fileURLToPath(new URL('../first-use-child.ts', import.meta.url))
const TARGETS = 10
/** Requests after the second one on each connection (the settled figure). */
const STEADY = 20
const request = Buffer.alloc(64, 2)

interface Record {
  id: string
  name: string
  addresses: Array<{ host: string; port: number }>
}

/** One fresh node dialing every target once: first request (dials) and second, in ms. */
async function nodeRound(identity: Identity, targets: Record[], out: Samples): Promise<void> {
  const discovery = new StaticDiscovery()
  const node = await createNode({
    identity,
    trust: targets.map((t) => t.id),
    name: 'dialer@bench',
    discovery,
    connect: 'on-demand',
    metrics: false,
  })
  try {
    for (const t of targets) discovery.add(t)
    for (const t of targets) {
      const t0 = performance.now()
      await node.request(t.id, 'echo', request, { timeoutMs: 30_000 })
      const t1 = performance.now()
      await node.request(t.id, 'echo', request, { timeoutMs: 30_000 })
      out.first.push(t1 - t0)
      out.second.push(performance.now() - t1)
      for (let i = 0; i < STEADY; i++) {
        const started = performance.now()
        await node.request(t.id, 'echo', request, { timeoutMs: 30_000 })
        out.steady.push(performance.now() - started)
      }
      // the dialer with the higher id could lose a simultaneous dial: it relies on the listener's
      // promise to keep the connection (or waits a round trip for proof without it)
      ;(node.id > t.id ? out.higher : out.lower).push(t1 - t0)
    }
  } finally {
    await node.stop({ timeoutMs: 2000 })
  }
}

/** One fresh quinn client endpoint, fresh servers: connect + first echo on a new stream, then a second. */
async function rawRound(
  identity: Identity,
  servers: Array<{ port: number; peerId: string }>,
  out: Samples,
): Promise<void> {
  const dialer = quinnDialer(identity, {})
  try {
    for (const s of servers) {
      const t0 = performance.now()
      const conn = await dialer.dial({ host: '127.0.0.1', port: s.port }, s.peerId)
      const stream = await conn.open()
      await stream.write(request)
      await stream.read()
      const t1 = performance.now()
      await stream.write(request)
      await stream.read()
      out.first.push(t1 - t0)
      out.second.push(performance.now() - t1)
      for (let i = 0; i < STEADY; i++) {
        const started = performance.now()
        await stream.write(request)
        await stream.read()
        out.steady.push(performance.now() - started)
      }
      await stream.finish().catch(() => {})
      await conn.close()
    }
  } finally {
    await dialer.close()
  }
}

interface Samples {
  first: number[]
  second: number[]
  /** The requests after the second one (the connection settled). */
  steady: number[]
  higher: number[]
  lower: number[]
}
const samples = (): Samples => ({ first: [], second: [], steady: [], higher: [], lower: [] })

const suite: Suite = {
  name: 'first-use',
  description:
    'first request (dials) vs a request on the open connection: @peer/node and raw quinn, two processes',
  async run({ quick }) {
    const rounds = quick ? 3 : 10
    // round 0 warms both paths up (JIT) and is not counted
    const dialers = await Promise.all(Array.from({ length: rounds + 1 }, () => generateIdentity()))
    const rawClient = await generateIdentity()
    const child = await spawnChild(CHILD, { readyTimeoutMs: 60_000 })
    const node = samples()
    const raw = samples()
    const load: number[] = []
    try {
      const targets = await child.call<Record[]>(
        'nodes',
        { trust: dialers.map((d) => d.id), count: TARGETS },
        { timeoutMs: 120_000 },
      )
      const { loadavg } = await import('node:os')
      load.push(loadavg()[0]!)
      for (let r = 0; r <= rounds; r++) {
        const counted = r > 0
        await nodeRound(dialers[r]!, targets, counted ? node : samples())
        const servers = await child.call<Array<{ port: number; peerId: string }>>(
          'quinnServers',
          { client: quinnKeyOf(rawClient).peerId, count: TARGETS },
          { timeoutMs: 60_000 },
        )
        await rawRound(rawClient, servers, counted ? raw : samples())
        await child.call('closeQuinn', {}, { timeoutMs: 30_000 })
      }
      load.push(loadavg()[0]!)
    } finally {
      await child.close()
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const p50 = (xs: number[]) => percentile(sorted(xs), 0.5)
    const p90 = (xs: number[]) => percentile(sorted(xs), 0.9)
    const ms = (name: string, value: number, extra: Partial<Measurement> = {}): Measurement => ({
      name,
      value: Math.round(value * 100) / 100,
      unit: 'ms',
      ...extra,
    })
    const measurements: Measurement[] = [
      ms('node: request on the open connection p50', p50(node.second), {
        notes: 'the second request, right after the first',
      }),
      ms('node: request on the settled connection p50', p50(node.steady), {
        notes: `requests 3 to ${STEADY + 2} on each connection`,
      }),
      ms('node: first request (dials) p50', p50(node.first), {
        baseline: 'node: request on the open connection p50',
        target: '<= 3x',
      }),
      ms('node: first request (dials) p50, against the settled connection', p50(node.first), {
        baseline: 'node: request on the settled connection p50',
      }),
      ms('node: first request (dials) p90', p90(node.first), {
        baseline: 'node: request on the open connection p50',
      }),
      ms('raw quinn: echo on the open stream p50', p50(raw.second)),
      ms('raw quinn: echo on the settled stream p50', p50(raw.steady)),
      ms('raw quinn: first echo (connects) p50', p50(raw.first), {
        baseline: 'raw quinn: echo on the open stream p50',
        notes: 'the floor: no layer above the engine',
      }),
      ms('raw quinn: first echo (connects) p50, against the settled stream', p50(raw.first), {
        baseline: 'raw quinn: echo on the settled stream p50',
      }),
      ms('node: first request (dials) p50, against raw quinn', p50(node.first), {
        baseline: 'raw quinn: first echo (connects) p50',
        notes: 'the same figure against the raw floor',
      }),
      ms('node: first request, dialer with the higher id p50', p50(node.higher), {
        notes: `${node.higher.length} samples`,
      }),
      ms('node: first request, dialer with the lower id p50', p50(node.lower), {
        notes: `${node.lower.length} samples`,
      }),
    ]
    return {
      suite: 'first-use',
      measurements,
      notes: [
        `${rounds} rounds x ${TARGETS} targets each, node and raw rounds alternating; load average (1 min) ${load.map((l) => l.toFixed(2)).join(' -> ')}`,
      ],
    }
  },
}
export default suite

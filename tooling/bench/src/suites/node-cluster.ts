// pnpm bench node (cluster part): in one process, N nodes on loopback QUIC with static discovery
// (node i discovers every node after it). Measures how long the cluster takes to form (every pair up), how
// long one node with N-1 peers takes to stop, and how long the remaining N-1 nodes take to stop
// together, for N = 10, 20, 40 (10, 20 with --quick). The load average is recorded with each
// figure, since 2 shared cores make absolute times vary.
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { waitFor } from '@peer/testkit/wait'
import { load1m as load } from '../bench-stats.js'
import type { Measurement, Suite } from '../report.js'

interface ClusterRun {
  formMs: number
  oneStopMs: number
  restStopMs: number
}

async function runCluster(size: number): Promise<ClusterRun> {
  const identities = await Promise.all(Array.from({ length: size }, () => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const discoveries = identities.map(() => new StaticDiscovery())
  const started = performance.now()
  const nodes: PeerNode[] = await Promise.all(
    identities.map((identity, i) =>
      createNode({
        identity,
        trust,
        name: `n${i}@bench`,
        discovery: discoveries[i]!,
        lostHysteresisMs: 0,
        registry: { maxConcurrentDials: 64 },
      }),
    ),
  )
  // each pair is introduced in one direction only (node i discovers every node after it), so a
  // pair costs one handshake and no simultaneous-dial duplicates
  for (const [i, d] of discoveries.entries()) {
    for (const other of nodes.slice(i + 1))
      d.add({ id: other.id, name: other.name, addresses: [other.address] })
  }
  try {
    await waitFor(() => nodes.every((n) => n.peers().length === size - 1), {
      timeoutMs: 300_000,
      what: `${size} nodes to connect`,
    })
    const formMs = performance.now() - started
    // the node that stops first is the last one: every other node dialed it (and would redial it)
    const one = nodes[size - 1]!
    const t1 = performance.now()
    await one.stop()
    const oneStopMs = performance.now() - t1
    const t2 = performance.now()
    await Promise.all(nodes.slice(0, -1).map((n) => n.stop()))
    const restStopMs = performance.now() - t2
    return { formMs, oneStopMs, restStopMs }
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  }
}

const suite: Suite = {
  name: 'node-cluster',
  description: 'cluster form and stop times for 10/20/40 nodes in one process (loopback QUIC)',
  async run({ quick }) {
    const sizes = quick ? [10, 20] : [10, 20, 40]
    const measurements: Measurement[] = []
    const notes: string[] = []
    for (const size of sizes) {
      const before = load()
      const r = await runCluster(size)
      notes.push(`${size} nodes: load average ${before} before, ${load()} after`)
      measurements.push(
        { name: `form ${size} nodes`, value: r.formMs, unit: 'ms' },
        {
          name: `stop 1 node with ${size - 1} peers`,
          value: r.oneStopMs,
          unit: 'ms',
          ...(size === 40 ? { target: '<= 500' } : {}),
        },
        {
          name: `stop the other ${size - 1} nodes together`,
          value: r.restStopMs,
          unit: 'ms',
          ...(size === 40 ? { target: '<= 2000' } : {}),
        },
      )
    }
    return { suite: 'node-cluster', measurements, notes }
  },
}

export default suite

// pnpm bench node (recovery part): two nodes through the userland UDP relay; a partition longer
// than the connection's idle timeout takes the peer down, and the time from the heal to `peer:up`
// is measured with the registry's probing redials (default) and without them (probeAttemptMs: 0,
// the baseline), interleaved, in the same run. The dialing node keeps the default idle and
// connect timeouts, so without probing its redials wait out the handshake's retransmission backoff.
import { loadavg } from 'node:os'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'
import { createUdpRelay } from '@peer/testkit/udp-relay'
import type { Measurement, Suite } from '../report.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`bench node-recovery: timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** One partition of `partitionMs` after the peer went down; returns ms from the heal to peer:up. */
async function recoveryMs(probeAttemptMs: number | undefined, partitionMs: number): Promise<number> {
  const [near, far] = await Promise.all([generateIdentity(), generateIdentity()])
  const farNode = await createNode({
    identity: far,
    trust: [near.id],
    name: 'far@bench',
    transport: { maxIdleTimeoutMs: 1000, keepAliveIntervalMs: 200 },
  })
  const relay = await createUdpRelay({ listenHost: '127.0.0.1', target: farNode.address })
  const nearNode = await createNode({
    identity: near,
    trust: [far.id],
    name: 'near@bench',
    discovery: new StaticDiscovery({ peers: [{ id: far.id, addresses: [relay.address] }] }),
    lostHysteresisMs: 0,
    transport: { keepAliveIntervalMs: 200 },
    ...(probeAttemptMs === undefined ? {} : { registry: { probeAttemptMs } }),
  })
  try {
    await nearNode.waitForPeer(far.id, { timeoutMs: 30_000 })
    let down = false
    let up = false
    nearNode.addEventListener('peer:down', () => {
      down = true
    })
    nearNode.addEventListener('peer:up', () => {
      up = true
    })
    relay.partition(true)
    await until(() => down, 30_000, 'peer:down')
    await sleep(partitionMs)
    relay.partition(false)
    const healed = performance.now()
    await until(() => up, 60_000, 'peer:up after the heal')
    return performance.now() - healed
  } finally {
    await Promise.allSettled([nearNode.stop(), farNode.stop()])
    await relay.close()
  }
}

/**
 * A partition of `partitionMs`, shorter than the idle timeout (default settings on both nodes, so
 * the connection survives it), while `near` makes requests one after the other; returns ms from
 * the heal to the first answer. `stallTimeoutMs` undefined: the default stall watch; a huge one:
 * the baseline (the connection resumes at QUIC's next retransmission).
 */
async function stallRecoveryMs(stallTimeoutMs: number | undefined, partitionMs: number): Promise<number> {
  const [near, far] = await Promise.all([generateIdentity(), generateIdentity()])
  const farNode = await createNode({ identity: far, trust: [near.id], name: 'far@bench' })
  farNode.handle('echo', (x) => x)
  const relay = await createUdpRelay({ listenHost: '127.0.0.1', target: farNode.address })
  const nearNode = await createNode({
    identity: near,
    trust: [far.id],
    name: 'near@bench',
    discovery: new StaticDiscovery({ peers: [{ id: far.id, addresses: [relay.address] }] }),
    ...(stallTimeoutMs === undefined ? {} : { stallTimeoutMs }),
  })
  let answeredAt = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      try {
        await nearNode.request(far.id, 'echo', 1, { timeoutMs: 60_000 })
        answeredAt = performance.now()
      } catch {
        await sleep(10)
      }
      await sleep(10)
    }
  })()
  try {
    await nearNode.waitForPeer(far.id, { timeoutMs: 30_000 })
    await until(() => answeredAt > 0, 30_000, 'a first answer')
    relay.partition(true)
    await sleep(partitionMs)
    relay.partition(false)
    const healed = performance.now()
    await until(() => answeredAt > healed, 60_000, 'an answer after the heal')
    return answeredAt - healed
  } finally {
    stopped = true
    await Promise.allSettled([nearNode.stop(), farNode.stop()])
    await loop
    await relay.close()
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const suite: Suite = {
  name: 'node-recovery',
  description:
    'time from a partition heal to peer:up (probing redials) and to the first answer (stall watch, partitions under the idle timeout), each against a baseline without (userland UDP relay)',
  async run({ quick }) {
    const partitions = quick ? [5000] : [3000, 8000, 20_000]
    const measurements: Measurement[] = []
    const notes: string[] = []
    for (const partitionMs of partitions) {
      const probing: number[] = []
      const plain: number[] = []
      const rounds = quick ? 1 : 3
      for (let i = 0; i < rounds; i++) {
        plain.push(await recoveryMs(0, partitionMs))
        probing.push(await recoveryMs(undefined, partitionMs))
      }
      const base = `no probing, ${partitionMs / 1000} s partition`
      measurements.push(
        { name: base, value: median(plain), unit: 'ms' },
        {
          name: `probing (default), ${partitionMs / 1000} s partition`,
          value: median(probing),
          unit: 'ms',
          baseline: base,
          target: '<= 2000',
        },
      )
      notes.push(
        `${partitionMs / 1000} s partition, median of ${rounds}: probing ${probing.map(Math.round).join(', ')} ms; none ${plain.map(Math.round).join(', ')} ms; load average ${loadavg()[0]!.toFixed(2)}`,
      )
    }
    // partitions shorter than the idle timeout: the stall watch (default) against none
    for (const partitionMs of quick ? [20_000] : [5000, 20_000]) {
      const watched: number[] = []
      const plain: number[] = []
      const rounds = quick ? 2 : 3
      for (let i = 0; i < rounds; i++) {
        plain.push(await stallRecoveryMs(2 ** 31 - 1, partitionMs))
        watched.push(await stallRecoveryMs(undefined, partitionMs))
      }
      const base = `no stall watch, ${partitionMs / 1000} s partition under the idle timeout`
      measurements.push(
        { name: base, value: median(plain), unit: 'ms' },
        {
          name: `stall watch (default), ${partitionMs / 1000} s partition under the idle timeout`,
          value: median(watched),
          unit: 'ms',
          baseline: base,
          target: '<= 2000',
        },
      )
      notes.push(
        `${partitionMs / 1000} s partition under the idle timeout, heal to first answer, median of ${rounds}: stall watch ${watched.map(Math.round).join(', ')} ms; none ${plain.map(Math.round).join(', ')} ms; load average ${loadavg()[0]!.toFixed(2)}`,
      )
    }
    return { suite: 'node-recovery', measurements, notes }
  },
}

export default suite

// pnpm bench node-degraded: what peers that are down cost the ones that are up. In one process,
// on loopback QUIC, with static discovery; "down" is a UDP socket that reads and never answers
// (QUIC gets no error from it: each dial waits for its time limit, 10 s).
// - dead ahead: a node whose list names D trusted peers that are down before L that are up; the
//   time until the L are up, against the same node with no dead peer (the baseline, same round);
// - silent first address: L peers each listed as [silent address, its own]; the time until the L
//   are up, against the same peers listed with their own address alone.
// Rounds alternate baseline and degraded case; the load average is recorded with each round.
import { createHash } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { encodeBase32, type PeerAddress } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity, type Identity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { waitFor } from '@peer/testkit/wait'
import { load1m as load, p50 } from '../bench-stats.js'
import type { Measurement, Suite } from '../report.js'

const LIVE = 3
const DEAD = 40

/** A listed peer: its id, and the addresses the dialing node's static list gives it. */
interface Listed {
  id: string
  addresses: PeerAddress[]
}

/** Starts a dialing node that trusts and lists `listed` (in order); ms until every `live` id is up. */
async function timeToLive(
  identity: Identity,
  listed: readonly Listed[],
  live: readonly string[],
): Promise<number> {
  const discovery = new StaticDiscovery()
  const node = await createNode({
    identity,
    trust: listed.map((l) => l.id),
    discovery,
    lostHysteresisMs: 0,
    stopTimeoutMs: 1000,
  })
  try {
    const started = performance.now()
    for (const l of listed) discovery.add({ id: l.id, addresses: l.addresses })
    await waitFor(() => live.every((id) => node.peer(id) !== undefined), {
      timeoutMs: 120_000,
      intervalMs: 10,
      what: 'the live peers',
    })
    return performance.now() - started
  } finally {
    await node.stop()
  }
}

const suite: Suite = {
  name: 'node-degraded',
  description: `peers that are down and silent addresses: time until ${LIVE} live peers are up (loopback QUIC)`,
  async run({ quick }) {
    const rounds = quick ? 1 : 3
    const hole: Socket = createSocket('udp4')
    hole.on('message', () => {})
    await new Promise<void>((resolve) => hole.bind(0, '127.0.0.1', resolve))
    const silent = { host: '127.0.0.1', port: hole.address().port }
    const [dialer, ...identities] = await Promise.all(
      Array.from({ length: LIVE + 1 }, () => generateIdentity()),
    )
    const liveNodes: PeerNode[] = []
    const notes: string[] = []
    const times = {
      base: [] as number[],
      dead: [] as number[],
      direct: [] as number[],
      silentFirst: [] as number[],
    }
    try {
      for (const identity of identities)
        liveNodes.push(await createNode({ identity: identity!, trust: [dialer!.id], stopTimeoutMs: 1000 }))
      const live = liveNodes.map((n) => ({ id: n.id, addresses: [n.address] }))
      const liveIds = live.map((l) => l.id)
      const dead = Array.from({ length: DEAD }, (_, i) => ({
        id: encodeBase32(createHash('sha256').update(`node-degraded dead ${i}`).digest()),
        addresses: [silent],
      }))
      const silentFirst = liveNodes.map((n) => ({ id: n.id, addresses: [silent, n.address] }))
      for (let round = 1; round <= rounds; round++) {
        const before = load()
        times.base.push(await timeToLive(dialer!, live, liveIds))
        times.dead.push(await timeToLive(dialer!, [...dead, ...live], liveIds))
        times.direct.push(await timeToLive(dialer!, live, liveIds))
        times.silentFirst.push(await timeToLive(dialer!, silentFirst, liveIds))
        notes.push(`round ${round}: load average ${before} before, ${load()} after`)
      }
    } finally {
      await Promise.allSettled(liveNodes.map((n) => n.stop()))
      hole.close()
    }
    const measurements: Measurement[] = [
      { name: `${LIVE} live peers up, none down`, value: p50(times.base), unit: 'ms' },
      {
        name: `${LIVE} live peers up, ${DEAD} down listed first`,
        value: p50(times.dead),
        unit: 'ms',
        baseline: `${LIVE} live peers up, none down`,
      },
      { name: `${LIVE} live peers up, own addresses`, value: p50(times.direct), unit: 'ms' },
      {
        name: `${LIVE} live peers up, a silent address listed first`,
        value: p50(times.silentFirst),
        unit: 'ms',
        baseline: `${LIVE} live peers up, own addresses`,
      },
    ]
    notes.push(
      `p50 over ${rounds} round(s); each round: none down, ${DEAD} down, own addresses, silent first`,
    )
    return { suite: 'node-degraded', measurements, notes }
  },
}

export default suite

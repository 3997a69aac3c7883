// Which provider `request({ service })` picks among connected ones: the cost is how long its answers
// take (at least PROVIDER_LATENCY_FLOOR_MS, so providers on one LAN are equal) times one more than
// the requests in flight: load spreads over equal providers, and a far provider takes requests once
// the near ones are busy; a provider whose connection stalls is left for another at once, and
// tried last. Real nodes on loopback QUIC; the far one behind the testkit's UDP relay (40 ms each
// way).
import { encodeServiceList, SERVICES_META_KEY } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'
import { afterEach, expect, it } from 'vitest'
import type { PeerNode } from '../src/index.js'
import { type Member, startMember, stopAll } from './helpers.js'

const members: Member[] = []
const relays: UdpRelay[] = []
afterEach(async () => {
  await stopAll(members.splice(0))
  await Promise.allSettled(relays.splice(0).map((r) => r.close()))
})

const meta = { [SERVICES_META_KEY]: encodeServiceList(['svc'])! }

/** A client, and `count` providers of `svc` that answer with their name; `far` of them through a 40 ms relay. */
async function cluster(count: number, far = 0) {
  const identities = await Promise.all(Array.from({ length: count + 1 }, () => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const start = async (i: number) => {
    const name = i === 0 ? 'client@localhost' : `p${i}@localhost`
    const member = await startMember(identities[i]!, trust, { name, stopTimeoutMs: 1000 })
    members.push(member)
    return member
  }
  const { node: client, discovery } = await start(0)
  const providers: PeerNode[] = []
  for (let i = 1; i <= count; i++) {
    const { node: provider } = await start(i)
    provider.handle('who', () => provider.name)
    let address = provider.address
    if (i > count - far) {
      const relay = await createUdpRelay({ listenHost: '127.0.0.1', target: address, delayMs: 40, seed: i })
      relays.push(relay)
      address = relay.address
    }
    discovery.announcePeer(provider.id, [address], { name: provider.name, meta })
    providers.push(provider)
  }
  for (const p of providers) await client.waitForPeer(p.id, { timeoutMs: 30_000 })
  return { client, providers }
}

const tally = (names: unknown[]) => {
  const counts = new Map<string, number>()
  for (const name of names) counts.set(name as string, (counts.get(name as string) ?? 0) + 1)
  return counts
}

it('spreads requests one after the other over equal providers (each was sent to one before)', async () => {
  const { client, providers } = await cluster(5)
  const answers: unknown[] = []
  for (let i = 0; i < 500; i++) answers.push(await client.request({ service: 'svc' }, 'who', null))
  const counts = tally(answers)
  // 100 each expected; the lowest RTT (whole ms: 1 or 2 on loopback) used to take them all
  expect(counts.size).toBe(5)
  for (const p of providers) expect(counts.get(p.name)).toBeGreaterThanOrEqual(40)
})

it('spreads concurrent requests by those in flight: 2,000 at once over 5 providers, none refused', async () => {
  const { client, providers } = await cluster(5)
  // more than one provider's limit of requests in flight (1,024): all to one failed with TooManyRequestsError
  const answers = await Promise.all(
    Array.from({ length: 2000 }, () =>
      client.request({ service: 'svc' }, 'who', null, { timeoutMs: 60_000 }),
    ),
  )
  const counts = tally(answers)
  // 400 each when their RTTs are all under the floor; a provider whose RTT (ms) is over it takes fewer
  for (const p of providers) expect(counts.get(p.name)).toBeGreaterThanOrEqual(200)
})

it('prefers a near provider, and sends to a far one once the near one is busy', async () => {
  const { client, providers } = await cluster(2, 1)
  const [near, far] = providers as [PeerNode, PeerNode]
  // a provider's cost is how long its answers take, once it answered eight times
  for (const p of providers) for (let i = 0; i < 8; i++) await client.request(p.id, 'who', null)
  const one: unknown[] = []
  for (let i = 0; i < 20; i++) one.push(await client.request({ service: 'svc' }, 'who', null))
  expect(tally(one)).toEqual(new Map([[near.name, 20]]))
  // 200 at once: the far one's cost (80 ms or more) is below the near one's once it has 8 or more in flight
  const many = tally(
    await Promise.all(
      Array.from({ length: 200 }, () =>
        client.request({ service: 'svc' }, 'who', null, { timeoutMs: 60_000 }),
      ),
    ),
  )
  expect(many.get(near.name)).toBeGreaterThan(100)
  expect(many.get(far.name)).toBeGreaterThan(0)
})

// A provider dies (or is cut off) with requests in flight: once its connection is found stalled,
// `request({ service })` fails them over to another provider, and orders the stalled one last,
// instead of leaving them to their timeout. The provider that dies is behind the relay, partitioned.
it('requests in flight on a provider whose connection stalls fail over, and the next ones avoid it', async () => {
  const identities = await Promise.all([0, 1, 2].map(() => generateIdentity()))
  const trust = identities.map((i) => i.id)
  const start = async (i: number, name: string) => {
    const member = await startMember(identities[i]!, trust, { name, stopTimeoutMs: 1000 })
    members.push(member)
    return member
  }
  const { node: client, discovery } = await start(0, 'client@localhost')
  const { node: alive } = await start(1, 'alive@localhost')
  const { node: doomed } = await start(2, 'doomed@localhost')
  for (const provider of [alive, doomed]) provider.handle('who', () => provider.name)
  const relay = await createUdpRelay({ listenHost: '127.0.0.1', target: doomed.address })
  relays.push(relay)
  discovery.announcePeer(alive.id, [alive.address], { name: alive.name, meta })
  discovery.announcePeer(doomed.id, [relay.address], { name: doomed.name, meta })
  for (const p of [alive, doomed]) await client.waitForPeer(p.id, { timeoutMs: 30_000 })
  // both providers answer (the requests spread over equal providers)
  const warm = new Set<unknown>()
  for (let i = 0; i < 100 && warm.size < 2; i++)
    warm.add(await client.request({ service: 'svc' }, 'who', null))
  expect(warm.size).toBe(2)

  relay.partition(true)
  // spread at once: about half go to `doomed` and wait there until its connection is found stalled
  const timeoutMs = 60_000
  const atOnce = await Promise.allSettled(
    Array.from({ length: 20 }, () => client.request({ service: 'svc' }, 'who', null, { timeoutMs })),
  )
  expect(client.stats.stalls).toBe(1)
  // answered through the stall, long before the idle timeout (30 s) would have closed the
  // connection and failed them over too
  expect(client.peer(doomed.id)).toBeDefined()
  expect(atOnce.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([])
  expect(new Set(atOnce.map((r) => (r.status === 'fulfilled' ? r.value : undefined)))).toEqual(
    new Set(['alive@localhost']),
  )
  // stalled now: ordered last, so the next requests go to `alive` (one on `doomed` would wait for
  // its whole timeout: the connection is stalled already, there is no stall left to notice)
  expect(client.providers('svc', { ordered: true })).toEqual([alive.id, doomed.id])
  for (let i = 0; i < 20; i++) {
    expect(await client.request({ service: 'svc' }, 'who', null, { timeoutMs })).toBe('alive@localhost')
  }
  // the path comes back: the old connection recovers (or the stall probe's fresh one replaces
  // it), and `doomed` is a provider like any other again
  relay.partition(false)
  const again = new Set<unknown>()
  const deadline = Date.now() + 60_000
  while (again.size < 2 && Date.now() < deadline) {
    again.add(await client.request({ service: 'svc' }, 'who', null, { timeoutMs }))
    await new Promise((r) => setTimeout(r, 10))
  }
  expect(again).toEqual(new Set(['alive@localhost', 'doomed@localhost']))
}, 120_000)

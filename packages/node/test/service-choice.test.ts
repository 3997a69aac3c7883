// Which provider `request({ service })` picks among connected ones: the cost is how long its answers
// take (at least PROVIDER_LATENCY_FLOOR_MS, so providers on one LAN are equal) times one more than
// the requests in flight: load spreads over equal providers, and a far provider takes requests once
// the near ones are busy. Real nodes on loopback QUIC; the far one behind the testkit's UDP relay (40 ms each way).
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

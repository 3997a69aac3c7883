// A provider of a service dies (or is cut off) with requests in flight: once its connection is found
// stalled, `request({ service })` fails them over to another provider, and orders the stalled one
// last, instead of leaving them to their timeout. Real nodes on loopback QUIC; the provider that
// dies is behind the testkit's UDP relay, partitioned.
import { encodeServiceList, SERVICES_META_KEY } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'
import { afterEach, expect, it, vi } from 'vitest'
import { type Member, startMember, stopAll } from './helpers.js'

vi.setConfig({ testTimeout: 120_000 })

const members: Member[] = []
const relays: UdpRelay[] = []
afterEach(async () => {
  await stopAll(members.splice(0))
  await Promise.allSettled(relays.splice(0).map((r) => r.close()))
})

const meta = { [SERVICES_META_KEY]: encodeServiceList(['svc'])! }

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
})

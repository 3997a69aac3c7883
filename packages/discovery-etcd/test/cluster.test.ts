// A real 3-member etcd cluster: discovery keeps working (no peer:lost, leases kept) while a member
// or the leader is killed with -9 and restarted.
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { EtcdDiscovery } from '../src/index.js'
import { nodeKey } from '../src/index.js'
import { backend, node, uniquePrefix } from './helpers.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd({ members: 3 })
  await etcd.waitForLeader()
})
afterAll(async () => {
  await etcd?.close()
})

async function threeNodes(prefix: string) {
  const backends: EtcdDiscovery[] = []
  const selves = ['c0', 'c1', 'c2'].map((l, i) => node(l, 5000 + i))
  for (let i = 0; i < 3; i++) backends.push(backend({ endpoints: etcd.endpoints, prefix, ttl: 2 }))
  await Promise.all(backends.map((b) => b.start()))
  await Promise.all(backends.map((b, i) => b.announce(selves[i]!)))
  await waitFor(async () => (await Promise.all(backends.map((b) => b.list()))).every((l) => l.length === 2), {
    timeoutMs: 30_000,
  })
  return { backends, selves }
}

for (const which of ['a follower', 'the leader'] as const) {
  it(`fails over when ${which} is killed with -9, and keeps every peer and lease`, async () => {
    const prefix = uniquePrefix('cluster')
    const { backends, selves } = await threeNodes(prefix)
    const recs = backends.map((b) => recordEvents(b, ['peer:lost']))
    const leader = await etcd.waitForLeader()
    const victim = which === 'the leader' ? leader : (leader + 1) % 3
    await etcd.kill(victim)
    if (which === 'the leader') await etcd.waitForLeader()
    // a node that arrives while a member is down is seen by everyone
    const late = backend({ endpoints: etcd.endpoints, prefix, ttl: 2 })
    await late.start()
    const lateSelf = node('late')
    await waitFor(
      async () => {
        try {
          await late.announce(lateSelf)
          return true
        } catch {
          return false
        }
      },
      { timeoutMs: 10_000 },
    )
    await waitFor(
      async () =>
        (await Promise.all(backends.map((b) => b.lookup(lateSelf.id)))).every((r) => r !== undefined),
      { timeoutMs: 10_000 },
    )
    await sleep(4500) // more than 2 x TTL: keepalives must have failed over too
    for (const s of selves) {
      expect((await etcd.etcdctl(['get', nodeKey(prefix, s.id), '--keys-only'])).trim()).toBe(
        nodeKey(prefix, s.id),
      )
    }
    expect(recs.flatMap((r) => r.events)).toEqual([])
    expect(backends.map((b) => b.etcdStats.leaseLosses)).toEqual([0, 0, 0])
    await etcd.restart(victim)
    await etcd.waitForLeader()
  })
}

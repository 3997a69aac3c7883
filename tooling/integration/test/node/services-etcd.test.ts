// Named services through a real etcd (started by the testkit): `provide()` re-announces the node
// with its `meta.services`, another node sees the provider live and calls it by service name;
// `unprovide()` and a stop take it away; a record with bad service names written straight into
// etcd is counted, never thrown.
import { SERVICES_META_KEY } from '@peer/discovery-core'
import { EtcdDiscovery } from '@peer/discovery-etcd'
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, expect, it } from 'vitest'

/** Quick redials, as in @peer/node's own tests. */
const FAST_REGISTRY = { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, dialTimeoutMs: 3000 }

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

it('publishes, finds, calls and withdraws a service through etcd', async () => {
  const prefix = `/services-${process.pid}-${Date.now()}`
  const [a, b, c] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
  const trust = [a.id, b.id, c.id]
  const nodes: PeerNode[] = []
  try {
    for (const identity of [a, b]) {
      nodes.push(
        await createNode({
          identity,
          trust,
          lostHysteresis: 0,
          registry: FAST_REGISTRY,
          stopTimeoutMs: 1000,
          discovery: new EtcdDiscovery({ endpoints: etcd.endpoints, prefix, ttl: 2 }),
          meta: { zone: 'test' },
        }),
      )
    }
    const [server, client] = nodes as [PeerNode, PeerNode]
    server.handle('sum', (xs: number[]) => xs.reduce((s, x) => s + x, 0))

    const added = nextEvent<CustomEvent>(client, 'provider:added', (e) => e.detail.service === 'math', 30_000)
    await server.provide('math')
    expect(server.provided).toEqual(['math'])
    expect((await added).detail).toMatchObject({ service: 'math', id: server.id, reason: 'announced' })
    expect(client.providers('math')).toEqual([server.id])
    // the node's own meta is kept next to the service list
    expect(client.discovery?.get(server.id)?.meta).toMatchObject({
      zone: 'test',
      [SERVICES_META_KEY]: 'math',
    })
    await client.waitForPeer(server.id, { timeoutMs: 30_000 })
    expect(await client.request({ service: 'math' }, 'sum', [1, 2, 3], { timeoutMs: 30_000 })).toBe(6)

    // a record with bad names, written by someone else: counted, the good name kept
    await etcd.etcdctl([
      'put',
      `${prefix}/nodes/${c.id}`,
      JSON.stringify({
        v: 1,
        id: c.id,
        addresses: [{ host: '127.0.0.1', port: 9 }],
        meta: { [SERVICES_META_KEY]: 'math,DROP ME' },
      }),
    ])
    await waitFor(() => client.providers('math').length === 2, {
      timeoutMs: 30_000,
      what: 'the third record',
    })
    // dropped and counted by the etcd backend (the shared base class), seen through the node
    expect(client.discovery?.stats.droppedServiceNames).toBe(1)

    const removed = nextEvent<CustomEvent>(
      client,
      'provider:removed',
      (e) => e.detail.service === 'math' && e.detail.id === server.id,
      30_000,
    )
    await server.unprovide('math')
    expect((await removed).detail).toMatchObject({ reason: 'unprovided' })
    expect(client.providers('math')).toEqual([c.id])
    expect(client.discovery?.get(server.id)?.meta).toEqual({ zone: 'test' })
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()))
  }
})

// A re-list cancels the old watch; when etcd's answer to that cancel comes late (a proxy holds the
// cancel request, and everything sent after it, for 1.5 s), the answer and any event still in
// flight for the old watch must not crash the process (etcd3 throws from its gRPC stream handler
// when it cannot find the watcher an answer is for). The testkit's no-uncaught setup file fails
// the test if anything escapes.
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { startWatchStallProxy, type WatchStallProxy } from '@peer/testkit/watch-stall-proxy'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { nodeKey } from '../src/index.js'
import { backend, node, stopAll, uniquePrefix } from './helpers.js'

const HOLD_MS = 1500

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

const proxies: WatchStallProxy[] = []
async function proxy(): Promise<WatchStallProxy> {
  const p = await startWatchStallProxy(etcd.members[0]!.clientPort)
  proxies.push(p)
  return p
}
afterEach(async () => {
  await stopAll()
  await Promise.all(proxies.map((p) => p.close()))
  proxies.length = 0
})

async function putNode(prefix: string, label: string, port: number): Promise<string> {
  const peer = node(label, port)
  await etcd.etcdctl([
    'put',
    nodeKey(prefix, peer.id),
    JSON.stringify({ v: 1, id: peer.id, addresses: [{ host: '127.0.0.1', port }] }),
  ])
  return peer.id
}

describe('a watch cancel that stalls', () => {
  it('refresh() under a stalled cancel: no crash when the late answer arrives, discovery goes on', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const b = backend({ endpoints: p.endpoint, prefix, requestTimeout: 3000, staleLimit: 60_000 })
    await b.start()
    const first = await putNode(prefix, 'before', 4100)
    await waitFor(() => b.lookup(first), { timeoutMs: 10_000, what: 'first peer' })

    p.stallNextCancel(HOLD_MS)
    const cancelsBefore = p.cancelReplies
    // an event for the old watch may be in flight while its cancel is held
    const during = putNode(prefix, 'during', 4101)
    await b.refresh()
    const duringId = await during
    await waitFor(() => p.stallsDone === 1, { timeoutMs: 15_000, what: 'the stall to end' })
    // etcd's answer to the held cancel has gone through the proxy to the client
    await waitFor(() => p.cancelReplies > cancelsBefore, { timeoutMs: 15_000, what: 'the cancel answer' })

    // anything etcd says now comes after that answer on the same connection
    const later = node('after', 4102)
    const seen = nextEvent<CustomEvent>(b, 'peer:discovered', (e) => e.detail.record.id === later.id, 15_000)
    await etcd.etcdctl([
      'put',
      nodeKey(prefix, later.id),
      JSON.stringify({ v: 1, id: later.id, addresses: [{ host: '127.0.0.1', port: 4102 }] }),
    ])
    await seen
    expect(b.connected).toBe(true)
    expect((await b.list()).map((r) => r.id).sort()).toEqual([first, duringId, later.id].sort())
  })

  it('stop() under a stalled cancel: no crash when the late answer arrives after the client closed', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const b = backend({ endpoints: p.endpoint, prefix, requestTimeout: 3000 })
    await b.start()
    await waitFor(() => b.connected, { what: 'connected' })
    p.stallNextCancel(HOLD_MS)
    const cancelsBefore = p.cancelReplies
    await b.stop()
    await waitFor(() => p.stallsDone === 1, { timeoutMs: 15_000, what: 'the stall to end' })
    await waitFor(() => p.cancelReplies > cancelsBefore, { timeoutMs: 15_000, what: 'the cancel answer' })
    // the client lets go of the connection once nothing is left on it
    await waitFor(() => p.connections === 0, { timeoutMs: 15_000, what: 'the client to disconnect' })
  })
})

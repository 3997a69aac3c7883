// A re-list cancels the old watch; when etcd's answer to that cancel comes late (a proxy holds the
// cancel request, and everything sent after it, for 1.5 s), the answer and any event still in
// flight for the old watch must not crash the process (etcd3 throws from its gRPC stream handler
// when it cannot find the watcher an answer is for). The testkit's no-uncaught setup file fails
// the test if anything escapes.

import type { LocalPeer } from '@peer/discovery-core'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { startWatchStallProxy, type WatchStallProxy } from '@peer/testkit/watch-stall-proxy'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type EtcdDiscovery, nodeKey } from '../src/index.js'
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

async function putNode(prefix: string, peer: LocalPeer): Promise<string> {
  const value = JSON.stringify({ v: 1, id: peer.id, addresses: peer.addresses })
  await etcd.etcdctl(['put', nodeKey(prefix, peer.id), value])
  return peer.id
}

/** Ways to make the backend re-list (and so cancel its watch) from outside. */
const relists: Record<string, (b: EtcdDiscovery, p: WatchStallProxy) => Promise<void>> = {
  'refresh()': (b) => b.refresh(),
  'a watch reconnect (connection cut)': async (_b, p) => {
    p.cut()
    p.heal()
  },
}

describe('a watch cancel that stalls', () => {
  it.each(Object.keys(relists))(
    'a re-list by %s under a stalled cancel: no crash when the late answer arrives, discovery goes on',
    async (how) => {
      const prefix = uniquePrefix()
      const p = await proxy()
      const b = backend({ endpoints: p.endpoint, prefix, requestTimeoutMs: 3000, staleAfterMs: 60_000 })
      await b.start()
      const first = await putNode(prefix, node('before', 4100))
      await waitFor(() => b.lookup(first), { timeoutMs: 10_000, what: 'first peer' })

      p.stallNextCancel(HOLD_MS)
      const cancelsBefore = p.cancelReplies
      // an event for the old watch may be in flight while its cancel is held
      const during = putNode(prefix, node('during', 4101))
      await relists[how]!(b, p)
      const duringId = await during
      await waitFor(() => p.stallsDone === 1, { timeoutMs: 15_000, what: 'the stall to end' })
      // etcd's answer to the held cancel has gone through the proxy to the client
      await waitFor(() => p.cancelReplies > cancelsBefore, { timeoutMs: 15_000, what: 'the cancel answer' })

      // anything etcd says now comes after that answer on the same connection
      const later = node('after', 4102)
      const seen = nextEvent<CustomEvent>(
        b,
        'peer:discovered',
        (e) => e.detail.record.id === later.id,
        15_000,
      )
      await putNode(prefix, later)
      await seen
      expect(b.connected).toBe(true)
      expect((await b.list()).map((r) => r.id).sort()).toEqual([first, duringId, later.id].sort())
    },
  )

  it('stop() under a stalled cancel: no crash when the late answer arrives after the client closed', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    const b = backend({ endpoints: p.endpoint, prefix, requestTimeoutMs: 3000 })
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

describe('a new id announced while the healing loop is ahead of announce()', () => {
  // The lock that serialises the backend's etcd operations is first come, first served. Here a
  // re-list (refresh) runs with the new id already set, so it finds our key missing and marks it
  // for publishing; the healing loop, woken by its check timer, is queued before announce() and
  // publishes the new key first. The old key must still go when announce() resolves.
  it('leaves only the new key once announce() resolves', async () => {
    const prefix = uniquePrefix()
    const p = await proxy()
    // a TTL well above the stall, so the old key cannot just expire meanwhile
    const a = backend({
      endpoints: p.endpoint,
      prefix,
      ttl: 30,
      requestTimeoutMs: 10_000,
      staleAfterMs: 60_000,
      checkIntervalMs: 50,
    })
    await a.start()
    const first = node('first', 4200)
    const second = node('second', 4201)
    await a.announce(first)
    await waitFor(() => a.connected, { what: 'connected' })

    // refresh #1 holds the lock: its watch restart waits behind a held cancel
    p.stallNextCancel(3000)
    const cancelsBefore = p.cancelRequests
    // queued behind it at once: refresh #2; then the loop (its check timer fires every 50 ms)
    const refreshes = [a.refresh(), a.refresh()]
    await waitFor(() => p.cancelRequests > cancelsBefore, { timeoutMs: 15_000, what: 'the held cancel' })
    // then announce(), with the new id set before refresh #2 lists
    await new Promise((r) => setTimeout(r, 500))
    await a.announce(second)
    await Promise.all(refreshes)
    const keys = (await etcd.etcdctl(['get', '--prefix', prefix, '--keys-only'])).trim()
    expect(keys).toBe(nodeKey(prefix, second.id))
  })
})

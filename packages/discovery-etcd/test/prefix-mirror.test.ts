// The prefix mirror on its own against a real etcd: the list diff (found / lost), watch events and
// the invalid-value count, with a host that records what the mirror reports.
import type { PeerLostReason, PeerRecord } from '@peer/discovery-core'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { waitFor } from '@peer/testkit/wait'
import type { Etcd3 } from 'etcd3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createEtcdClient, decodeNodeValue, encodeNodeValue, nodeKey, nodesPrefix } from '../src/index.js'
import { type MirrorCounters, PrefixMirror } from '../src/prefix-mirror.js'
import { node, uniquePrefix } from './helpers.js'

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

function mirrorOf(prefix: string) {
  const client: Etcd3 = createEtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 })
  const keyPrefix = nodesPrefix(prefix)
  const known = new Map<string, PeerRecord>()
  const lost: [string, PeerLostReason][] = []
  const invalid: string[] = []
  let resyncRequests = 0
  const counters: MirrorCounters = {
    requests: 0,
    watchEvents: 0,
    resyncs: 0,
    resets: 0,
    watchCancels: 0,
    staleDrops: 0,
  }
  const quiet = () => {}
  const mirror = new PrefixMirror({
    keyPrefix,
    requestTimeoutMs: 2000,
    staleLimitMs: 60_000,
    resetGraceMs: 0,
    maxListKeys: 100,
    maxTrackedInvalid: 16,
    counters,
    client: () => client,
    decode: (kv) =>
      decodeNodeValue(keyPrefix, kv.key.toString('utf8'), kv.value, { source: 'etcd', maxValueBytes: 16384 }),
    selfId: () => undefined,
    stopping: () => false,
    active: () => true,
    knownPeers: () => known.values(),
    reportPeer: (record) => known.set(record.id, record),
    reportLost: (id, reason) => {
      if (known.delete(id)) lost.push([id, reason])
    },
    countInvalid: (detail) => invalid.push(detail),
    reportError: (error) => {
      throw error
    },
    onReset: quiet,
    onListed: quiet,
    onSelfPut: quiet,
    onSelfDeleted: quiet,
    needResync: () => {
      resyncRequests++
    },
    log: { debug: quiet, info: quiet, warn: quiet },
  })
  cleanup.push(async () => {
    mirror.retireWatch()
    mirror.clearTimers()
    await mirror.settled()
    client.close()
  })
  return { mirror, client, known, lost, invalid, counters, resyncs: () => resyncRequests }
}

describe('PrefixMirror', () => {
  it('lists the prefix, follows the watch, and a re-list reports the peers etcd no longer has', async () => {
    const prefix = uniquePrefix('mirror')
    const m = mirrorOf(prefix)
    const a = node('ma', 4001)
    const b = node('mb', 4002)
    await m.client.put(nodeKey(prefix, a.id)).value(encodeNodeValue(a)).exec()
    await m.mirror.resync()
    expect([...m.known.keys()]).toEqual([a.id])
    expect(m.mirror.connected).toBe(true)
    const listed = m.mirror.resets.revision
    expect(listed).toBeGreaterThan(0)

    // the watch: a put is found, a bad value is counted once, a delete is lost
    await m.client.put(nodeKey(prefix, b.id)).value(encodeNodeValue(b)).exec()
    await waitFor(() => m.known.has(b.id))
    await m.client
      .put(`${nodesPrefix(prefix)}not-an-id`)
      .value('{')
      .exec()
    await waitFor(() => m.invalid.length === 1)
    await m.client.delete().key(nodeKey(prefix, b.id)).exec()
    await waitFor(() => m.lost.length === 1)
    expect(m.lost).toEqual([[b.id, 'removed']])
    expect(m.mirror.resets.revision).toBeGreaterThan(listed)

    // a peer the host knows but etcd does not (e.g. deleted while the watch was down) is lost on re-list
    const ghost = { ...node('ghost', 4003), source: 'etcd' } as PeerRecord
    m.known.set(ghost.id, ghost)
    await m.mirror.resync()
    expect(m.lost).toEqual([
      [b.id, 'removed'],
      [ghost.id, 'removed'],
    ])
    expect([...m.known.keys()]).toEqual([a.id])
    expect(m.invalid).toHaveLength(1) // the same bad value, listed again, is not counted again
    expect(m.counters.resyncs).toBe(2)
    expect(m.resyncs()).toBe(0)
  })
})

// The compliance kit against real etcd: N instances on one etcd, a unique prefix per scenario.
import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import type { LocalPeer } from '@peer/discovery-core'
import { EtcdDiscovery, encodeNodeValue, nodeKey, nodesPrefix } from '@peer/discovery-etcd'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { afterAll, beforeAll } from 'vitest'

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

function etcdHarness() {
  let prefix = ''
  return {
    propagationTimeoutMs: 3000,
    async setup({ count, selves }: { count: number; selves: readonly LocalPeer[] }) {
      prefix = uniquePrefix('kit')
      return Array.from(
        { length: count },
        (_, i) => new EtcdDiscovery({ endpoints: etcd.endpoints, prefix, self: selves[i]?.id, ttl: 2 }),
      )
    },
    async seedInvalid() {
      // written by another tool: not JSON at all
      await etcd.etcdctl(['put', `${nodesPrefix(prefix)}${'b'.repeat(51)}a`, 'this is not json'])
    },
    async seedExpiring(peer: LocalPeer) {
      // written under a 1 s lease nobody keeps alive: etcd deletes it when the lease expires
      const granted = await etcd.etcdctl(['lease', 'grant', '1'])
      const lease = /lease ([0-9a-f]+) granted/.exec(granted)?.[1]
      if (lease === undefined) throw new Error(`unexpected etcdctl output: ${granted}`)
      await etcd.etcdctl(['put', `--lease=${lease}`, nodeKey(prefix, peer.id), encodeNodeValue(peer)])
    },
    async teardown() {
      await etcd.etcdctl(['del', '--prefix', prefix])
    },
  }
}

describeDiscoveryCompliance('etcd (one etcd, a prefix per scenario)', etcdHarness, {
  capabilities: ['announce', 'list', 'watch', 'expiry'],
})

let counter = 0
/** A key prefix no other test uses. */
function uniquePrefix(label = 't'): string {
  return `/peer-test-${process.pid}-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { runExample } from '@peer/testkit/examples'
import { afterAll, beforeAll, expect, it } from 'vitest'

let etcd: EtcdCluster
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.close()
})

it('examples/two-nodes.mjs: bob discovers alice, looks her up by name, and loses her on withdraw', async () => {
  const { stdout } = await runExample('packages/discovery-etcd/examples/two-nodes.mjs', {
    env: { ETCD_ENDPOINTS: etcd.endpoints.join(',') },
  })
  expect(stdout).toContain('discovered alice@host1 at 127.0.0.1:4000')
  expect(stdout).toContain('lookup alice@host1 -> fpmansl7...')
  expect(stdout).toContain('lost alice@host1 (removed)')
})

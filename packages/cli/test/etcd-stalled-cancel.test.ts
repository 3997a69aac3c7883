// The real `peer discover` process, watching a real etcd through a proxy that stalls the watch
// cancel of a re-list for 1.5 s: when etcd's late answer arrives, the process must still be alive
// and still discovering (etcd3 used to throw "Failed to find watcher for IWatchResponse" from its
// gRPC stream handler, and the process exited 1).
import { randomBytes } from 'node:crypto'
import { generateIdentity } from '@peer/identity'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { waitFor } from '@peer/testkit/wait'
import { startWatchStallProxy, type WatchStallProxy } from '@peer/testkit/watch-stall-proxy'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PeerProcess } from './helpers.js'

let etcd: EtcdCluster
let proxy: WatchStallProxy
beforeAll(async () => {
  etcd = await startEtcd()
  proxy = await startWatchStallProxy(etcd.members[0]!.clientPort)
}, 30_000)
afterAll(async () => {
  await proxy?.close()
  await etcd?.close()
})

async function putNode(prefix: string, port: number): Promise<string> {
  const { id } = await generateIdentity()
  const value = JSON.stringify({ v: 1, id, addresses: [{ host: '127.0.0.1', port }] })
  await etcd.etcdctl(['put', `${prefix}/nodes/${id}`, value])
  return id
}

describe('peer discover with etcd', () => {
  it('survives a re-list whose watch cancel etcd answers 1.5 s late, and keeps discovering', async () => {
    const prefix = `/stall-${process.pid}-${randomBytes(4).toString('hex')}`
    const watcher = new PeerProcess([
      'discover',
      '--backend',
      'etcd',
      '--endpoint',
      proxy.endpoint,
      '--prefix',
      prefix,
      '--json',
    ])
    try {
      await watcher.waitFor((x) => x.events.some((e) => e.event === 'ready'), 30_000, 'ready')
      const first = await putNode(prefix, 4200)
      await watcher.waitFor((x) => x.events.some((e) => e.event === 'discovered' && e.id === first), 20_000)

      // cut the connection: the watch reconnects, the backend re-lists and cancels its old watch,
      // and the proxy holds that cancel (and all that follows it) for 1.5 s
      proxy.stallNextCancel(1500)
      const repliesBefore = proxy.cancelReplies
      proxy.cut()
      proxy.heal()
      await waitFor(() => proxy.stallsDone === 1, { timeoutMs: 30_000, what: 'the stalled cancel' })
      await waitFor(() => proxy.cancelReplies > repliesBefore, { timeoutMs: 30_000, what: 'the late answer' })

      // what etcd sends from now on comes after the late answer on the same connection
      const second = await putNode(prefix, 4201)
      await watcher.waitFor(
        (x) => x.events.some((e) => e.event === 'discovered' && e.id === second),
        20_000,
        'a discovery after the late answer',
      )
      expect(watcher.child.exitCode).toBeNull()
      expect(watcher.child.signalCode).toBeNull()
      expect(watcher.stderr).not.toContain('Failed to find watcher')
    } finally {
      const result = await watcher.stop('SIGINT')
      expect(result.stderr).not.toContain('Failed to find watcher')
    }
  }, 90_000)
})

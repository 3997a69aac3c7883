// Five `peer start` processes that find each other through a real etcd on loopback: they connect,
// exchange messages, and survive one node being killed (SIGKILL) and started again.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { afterAll, beforeAll, describe } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'
import {
  itFormsExchangesAndHeals,
  makeIdentities,
  startArgs,
  stopAll,
  waitStarted,
  writeClusterConfig,
} from './support/cluster.js'

const N = 5
let dir: string
let etcd: EtcdCluster | undefined
let ids: string[] = []
const nodes: PeerProcess[] = []
const ports: number[] = []

beforeAll(async () => {
  dir = await makeTempDir('cluster-etcd')
  etcd = await startEtcd()
  ;({ ids } = await makeIdentities(dir, N))
  const prefix = `/cluster-${process.pid}-${randomBytes(4).toString('hex')}`
  await writeClusterConfig(join(dir, 'cluster.json'), [
    { backend: 'etcd', endpoints: [etcd.endpoint], prefix, ttl: 5 },
  ])
  for (let i = 0; i < N; i++) nodes.push(new PeerProcess(startArgs(dir, i, 0)))
  for (const [i, p] of nodes.entries()) ports[i] = await waitStarted(p, ids[i]!, `n${i}`)
}, 90_000)

afterAll(async () => {
  await stopAll(nodes)
  await etcd?.close()
  await removeTempDir(dir)
}, 60_000)

describe(`a ${N}-process cluster on loopback (etcd discovery, real etcd)`, () => {
  itFormsExchangesAndHeals({
    nodes,
    ids: () => ids,
    victim: 2,
    restart: () => new PeerProcess(startArgs(dir, 2, ports[2]!)),
    port: () => ports[2]!,
    rejoin: 'through etcd',
  })
})

// Five `peer start` processes that find each other over mDNS, all inside one network namespace the
// test creates (multicast on its `lo`, never in the root namespace). They connect, exchange
// messages, and survive one node being killed (SIGKILL) and started again on its port.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { createNetns, type Netns } from '@peer/testkit/netns'
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
let ns: Netns | undefined
let ids: string[] = []
const nodes: PeerProcess[] = []
const ports: number[] = []

function spawnNode(i: number, port: number): PeerProcess {
  return new PeerProcess(startArgs(dir, i, port), { netns: ns!.name })
}

beforeAll(async () => {
  dir = await makeTempDir('cluster-mdns')
  ns = await createNetns({ label: 'cli-cluster' })
  ;({ ids } = await makeIdentities(dir, N))
  // a service name of this run only: nothing else in the namespace, but keep it unique anyway
  const service = `_pc${randomBytes(3).toString('hex')}._udp`
  await writeClusterConfig(join(dir, 'cluster.json'), [{ backend: 'mdns', service, families: [4] }])
  for (let i = 0; i < N; i++) nodes.push(spawnNode(i, 0))
  for (const [i, p] of nodes.entries()) ports[i] = await waitStarted(p, ids[i]!, `n${i}`)
}, 90_000)

afterAll(async () => {
  await stopAll(nodes)
  await ns?.delete()
  await removeTempDir(dir)
}, 60_000)

describe(`a ${N}-process cluster (mDNS discovery inside a network namespace)`, () => {
  itFormsExchangesAndHeals({
    nodes,
    ids: () => ids,
    victim: 3,
    restart: () => spawnNode(3, ports[3]!),
    port: () => ports[3]!,
    rejoin: 'over mDNS',
  })
})

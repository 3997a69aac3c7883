// Five `peer start` processes that find each other through DNS: a real dnsmasq on loopback serves
// SRV records for five pre-chosen UDP ports on 127.0.0.1, with TXT `id=`/`name=` on each target.
// They connect, exchange messages, and survive one node being killed (SIGKILL) and started again
// on its port (DNS itself never changes: the restarted node is redialed at the same address).
import { join } from 'node:path'
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'
import { afterAll, beforeAll, describe } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'
import {
  freeUdpPort,
  itFormsExchangesAndHeals,
  makeIdentities,
  startArgs,
  stopAll,
  waitStarted,
  writeClusterConfig,
} from './support/cluster.js'

const N = 5
const DOMAIN = 'cluster.test'
let dir: string
let dns: DnsmasqServer | undefined
let ids: string[] = []
const nodes: PeerProcess[] = []
const ports: number[] = []

beforeAll(async () => {
  dir = await makeTempDir('cluster-dns')
  ;({ ids } = await makeIdentities(dir, N))
  for (let i = 0; i < N; i++) {
    let port = await freeUdpPort()
    while (ports.includes(port)) port = await freeUdpPort()
    ports.push(port)
  }
  const target = (i: number) => `n${i}.${DOMAIN}`
  dns = await startDnsmasq({
    domain: DOMAIN,
    ttl: 1,
    zone: {
      srv: { [`_peer._udp.${DOMAIN}`]: ports.map((port, i) => ({ target: target(i), port })) },
      txt: Object.fromEntries(ids.map((id, i) => [target(i), [`id=${id}`, `name=n${i}@localhost`]])),
      hosts: Object.fromEntries(ids.map((_, i) => [target(i), ['127.0.0.1']])),
    },
  })
  await writeClusterConfig(join(dir, 'cluster.json'), [
    {
      backend: 'dns',
      resolvers: [dns.address],
      domain: DOMAIN,
      families: [4],
      minTtlMs: 1000,
      maxTtlMs: 2000,
    },
  ])
  for (let i = 0; i < N; i++) nodes.push(new PeerProcess(startArgs(dir, i, ports[i]!)))
  for (const [i, p] of nodes.entries()) await waitStarted(p, ids[i]!, `n${i}`)
}, 90_000)

afterAll(async () => {
  await stopAll(nodes)
  await dns?.stop()
  await removeTempDir(dir)
}, 60_000)

describe(`a ${N}-process cluster on loopback (DNS discovery, real dnsmasq)`, () => {
  itFormsExchangesAndHeals({
    nodes,
    ids: () => ids,
    victim: 1,
    restart: () => new PeerProcess(startArgs(dir, 1, ports[1]!)),
    port: () => ports[1]!,
    rejoin: 'at its SRV address',
  })
})

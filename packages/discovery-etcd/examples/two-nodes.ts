// Two nodes find each other through etcd, then one leaves.
// Run: ETCD_ENDPOINTS=http://127.0.0.1:2379 npx tsx examples/two-nodes.ts
import { pathToFileURL } from 'node:url'
import { EtcdDiscovery } from '@peer/discovery-etcd'

// Node ids are base32 SHA-256 of the node's public key (see @peer/identity); fixed here for brevity.
const ALICE = 'fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia'
const BOB = 'qg3dpwh42ldnuy2z42ldce5bc4g6pfpew4s3qti6bngp3hwfrtuq'

/** Runs the example against `endpoints`; returns what Bob saw. */
export async function main(endpoints: string[], prefix = `/peer-example-${process.pid}`): Promise<string[]> {
  const seen: string[] = []
  await using alice = new EtcdDiscovery({ endpoints, prefix, ttl: 5 })
  await using bob = new EtcdDiscovery({ endpoints, prefix, ttl: 5 })
  const lost = new Promise<void>((resolve) => {
    bob.addEventListener('peer:lost', (e) => {
      seen.push(`lost ${e.detail.record.name} (${e.detail.reason})`)
      resolve()
    })
  })
  const found = new Promise<void>((resolve) => {
    bob.addEventListener('peer:discovered', (e) => {
      const { name, addresses } = e.detail.record
      seen.push(`discovered ${name} at ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`)
      resolve()
    })
  })
  await Promise.all([alice.start(), bob.start()])
  await bob.announce({ id: BOB, name: 'bob@host2', addresses: [{ host: '127.0.0.1', port: 4001 }] })
  await alice.announce({ id: ALICE, name: 'alice@host1', addresses: [{ host: '127.0.0.1', port: 4000 }] })
  await found
  const record = await bob.lookup('alice@host1')
  seen.push(`lookup alice@host1 -> ${record?.id.slice(0, 8)}...`)
  await alice.withdraw()
  await lost
  return seen
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const endpoints = (process.env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',')
  for (const line of await main(endpoints)) console.log(line)
}

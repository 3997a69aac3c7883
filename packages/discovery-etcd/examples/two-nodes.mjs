// Two nodes find each other through etcd, then one leaves.
// Run: ETCD_ENDPOINTS=http://127.0.0.1:2379 node examples/two-nodes.mjs
// ETCD_ENDPOINTS: comma-separated etcd v3 client URLs (default http://127.0.0.1:2379).
import { EtcdDiscovery } from '@peer/discovery-etcd'

// Node ids are base32 SHA-256 of the node's public key (see @peer/identity); fixed here for brevity.
const ALICE = 'fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia'
const BOB = 'qg3dpwh42ldnuy2z42ldce5bc4g6pfpew4s3qti6bngp3hwfrtuq'

const endpoints = (process.env.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',')
const prefix = `/peer-example-${process.pid}`
const alice = new EtcdDiscovery({ endpoints, prefix, ttl: 5, self: ALICE })
const bob = new EtcdDiscovery({ endpoints, prefix, ttl: 5, self: BOB })

// bob waits for alice by id (not for the first event, which may be about someone else)
const found = new Promise((resolve) => {
  bob.addEventListener('peer:discovered', (e) => {
    const { id, name, addresses } = e.detail.record
    if (id !== ALICE) return
    console.log(`discovered ${name} at ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`)
    resolve()
  })
})
const lost = new Promise((resolve) => {
  bob.addEventListener('peer:lost', (e) => {
    if (e.detail.record.id !== ALICE) return
    console.log(`lost ${e.detail.record.name} (${e.detail.reason})`)
    resolve()
  })
})

try {
  await Promise.all([alice.start(), bob.start()])
  await bob.announce({ id: BOB, name: 'bob@host2', addresses: [{ host: '127.0.0.1', port: 4001 }] })
  await alice.announce({ id: ALICE, name: 'alice@host1', addresses: [{ host: '127.0.0.1', port: 4000 }] })
  await found
  const record = await bob.lookup('alice@host1')
  console.log(`lookup alice@host1 -> ${record?.id.slice(0, 8)}...`)
  await alice.withdraw()
  await lost
} finally {
  await Promise.all([alice.stop(), bob.stop()])
}

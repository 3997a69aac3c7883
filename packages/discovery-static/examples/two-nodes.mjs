// Two nodes find each other through one shared static peer list (the list each operator would put
// in peers.json), then one leaves.
// Run: node examples/two-nodes.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Discovery } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'

// Node ids are base32 SHA-256 of each node's public key (see @peer/identity); fixed here.
const alice = {
  id: 'fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia',
  name: 'alice@localhost',
  addresses: ['127.0.0.1:4001'],
}
const bob = {
  id: 'qg3dpwh42ldnuy2z42ldce5bc4g6pfpew4s3qti6bngp3hwfrtuq',
  name: 'bob@localhost',
  addresses: ['127.0.0.1:4002'],
}

const dir = mkdtempSync(join(tmpdir(), 'peer-two-nodes-'))
const file = join(dir, 'peers.json')
writeFileSync(file, JSON.stringify({ version: 1, peers: [alice, bob] }, null, 2))

function startNode(self) {
  // Each node runs an aggregate Discovery; here with one backend that reads the shared file.
  const discovery = new Discovery({
    backends: [new StaticDiscovery({ file, self: self.id, debounceMs: 20 })],
    self: self.id,
    lostHysteresisMs: 200,
  })
  const who = self.name.split('@')[0]
  discovery.addEventListener('peer:discovered', (e) => {
    const { record } = e.detail
    console.log(
      `${who}: discovered ${record.name} at ${record.addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`,
    )
  })
  discovery.addEventListener('peer:lost', (e) => console.log(`${who}: lost ${e.detail.record.name}`))
  return discovery
}

const a = startNode(alice)
const b = startNode(bob)
try {
  await a.start()
  await b.start()
  console.log('bob leaves the list...')
  writeFileSync(file, JSON.stringify({ version: 1, peers: [alice] }))
  await new Promise((resolve) => a.addEventListener('peer:lost', resolve, { once: true }))
} finally {
  await a.stop()
  await b.stop()
  rmSync(dir, { recursive: true, force: true })
}

// Generate (or load) this node's identity, trust a peer and save the trust list.
// Run: node examples/identity.mjs [directory]   (default: a fresh temporary directory, removed after)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, loadOrCreateIdentity, TrustList } from '@peer/identity'

const where = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'peer-identity-example-')))
try {
  const { identity, created } = await loadOrCreateIdentity(join(where, 'identity'))
  console.log(`${created ? 'created' : 'loaded'} node ${identity.id} (${identity.keyType})`)

  const friend = await generateIdentity({ keyType: 'p256' })
  const trust = new TrustList()
  trust.addEventListener('trust:added', (event) => console.log(`now trusting ${event.detail.entry.id}`))
  trust.add(friend.id, { label: 'friend' })
  await trust.save(join(where, 'trust.json'))
  console.log(`saved ${trust.size} trusted peer(s) to ${join(where, 'trust.json')}`)
} finally {
  if (process.argv[2] === undefined) await rm(where, { recursive: true, force: true })
}

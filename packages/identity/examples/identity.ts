// Generate (or load) this node's identity, trust a peer and save the trust list.
// Run: pnpm exec tsx --conditions=@peer/source examples/identity.ts [directory]
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, loadOrCreateIdentity, TrustList } from '@peer/identity'

export async function main(dir?: string): Promise<{ id: string; trusted: number }> {
  const where = dir ?? (await mkdtemp(join(tmpdir(), 'peer-identity-example-')))
  const { identity, created } = await loadOrCreateIdentity(join(where, 'identity'))
  console.log(`${created ? 'created' : 'loaded'} node ${identity.id} (${identity.keyType})`)

  const friend = await generateIdentity({ keyType: 'p256' })
  const trust = new TrustList()
  trust.addEventListener('trust:added', (event) => console.log(`now trusting ${event.detail.entry.id}`))
  trust.add(friend.id, { label: 'friend' })
  await trust.save(join(where, 'trust.json'))
  return { id: identity.id, trusted: trust.size }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2])

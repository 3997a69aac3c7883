// A 3-node cluster in one process: QUIC with mutual TLS on loopback, static discovery.
// Run: pnpm exec tsx --conditions=@peer/source packages/node/examples/cluster.ts
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

export async function main(): Promise<string> {
  const identities = await Promise.all([1, 2, 3].map(() => generateIdentity()))
  const trust = identities.map((identity) => identity.id) // security is the default: trust is required
  const discoveries = identities.map(() => new StaticDiscovery())
  const nodes = await Promise.all(
    identities.map((identity, i) =>
      createNode({ name: `node${i + 1}@localhost`, identity, trust, discovery: discoveries[i] }),
    ),
  )
  for (const [i, discovery] of discoveries.entries())
    for (const node of nodes.filter((_, j) => j !== i))
      discovery.add({ id: node.id, name: node.name, addresses: [node.address] })

  nodes[1]!.handle('greet', (who: string, { from }) => `hello ${who}, from node2 to ${from.name}`)
  await nodes[0]!.waitForPeer('node2')
  const answer = await nodes[0]!.request<string>('node2', 'greet', 'world')
  console.log(answer)
  await Promise.all(nodes.map((node) => node.stop()))
  return answer
}

if (import.meta.url === `file://${process.argv[1]}`) await main()

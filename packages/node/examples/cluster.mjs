// A 3-node cluster in one process: QUIC with mutual TLS on loopback, static discovery.
// Run: node examples/cluster.mjs
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const identities = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const trust = identities.map((identity) => identity.id) // security is the default: trust is required
const discoveries = identities.map(() => new StaticDiscovery())
const nodes = await Promise.all(
  identities.map((identity, i) =>
    createNode({ name: `node${i + 1}@localhost`, identity, trust, discovery: discoveries[i] }),
  ),
)
try {
  for (const [i, discovery] of discoveries.entries())
    for (const node of nodes.filter((_, j) => j !== i))
      discovery.add({ id: node.id, name: node.name, addresses: [node.address] })

  nodes[1].handle('greet', (who, { from }) => `hello ${who}, from node2 to ${from.name}`)
  await nodes[0].waitForPeer('node2')
  console.log(await nodes[0].request('node2', 'greet', 'world'))
} finally {
  await Promise.all(nodes.map((node) => node.stop()))
}

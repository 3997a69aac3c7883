// On-demand connections: members are known from discovery, connections are made when used and
// closed when idle.
// Run: node examples/on-demand.mjs
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const identities = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const trust = identities.map((identity) => identity.id)
const discoveries = identities.map(() => new StaticDiscovery())
const nodes = await Promise.all(
  identities.map((identity, i) =>
    createNode({
      name: `node${i + 1}@localhost`,
      identity,
      trust,
      discovery: discoveries[i],
      connect: 'on-demand', // dial a member when it is first used
      idleCloseMs: 500, // close a connection after 500 ms without traffic
      maxConnections: 8, // and never keep more than 8 open
    }),
  ),
)
try {
  const [node1, node2] = nodes
  const joined = new Promise((resolve) => node1.addEventListener('member:joined', resolve, { once: true }))
  discoveries[0].add({ id: node2.id, name: node2.name, addresses: [node2.address] })
  await joined
  console.log(`node1 members: ${node1.members().length}, connections: ${node1.peers().length}`)

  node2.handle('greet', (who) => `hello ${who}`)
  console.log(await node1.request('node2', 'greet', 'node1')) // dials node2 first
  console.log(`node1 connections: ${node1.peers().length}`)

  const down = await new Promise((resolve) => node1.addEventListener('peer:down', resolve, { once: true }))
  console.log(
    `peer:down ${down.detail.name} (${down.detail.reason}); still a member: ${node1.members().length}`,
  )
  console.log(await node1.request('node2', 'greet', 'again')) // dials again
} finally {
  await Promise.all(nodes.map((node) => node.stop()))
}

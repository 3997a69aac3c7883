// Run: node examples/status.mjs
// Two nodes in this process; node1 opens a control socket the way `peer start` does, so
// `peer status --control <socket>` could show it. Here the example reads the status through the
// socket itself and prints the table `peer status` prints.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readStatus, renderStatus, serveStatus } from '@peer/cli'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const dir = await mkdtemp(join(tmpdir(), 'peer-status-'))
const identities = await Promise.all([1, 2].map(() => generateIdentity()))
const trust = identities.map((identity) => identity.id)
const discoveries = identities.map(() => new StaticDiscovery())
const nodes = await Promise.all(
  identities.map((identity, i) =>
    createNode({ name: `node${i + 1}@localhost`, identity, trust, discovery: discoveries[i] }),
  ),
)
const socket = join(dir, 'control.sock')
const control = await serveStatus(nodes[0], socket) // mode 0600: only this user can connect
try {
  discoveries[0].add({ id: nodes[1].id, name: nodes[1].name, addresses: [nodes[1].address] })
  await nodes[0].waitForPeer('node2@localhost')
  await nodes[0].ping('node2@localhost')

  const status = await readStatus(socket) // what `peer status --control <socket> --json` prints
  const peer = status.peers[0]
  console.log(`${status.node.name}: ${peer.name} is ${peer.state}, rtt ${peer.rttMs.toFixed(1)} ms`)
  console.log(
    `addresses: ${peer.addresses.map((a) => `${a.address} via ${a.sources.join(', ')}`).join('; ')}`,
  )
  console.log(renderStatus(status))
} finally {
  await control.close()
  await Promise.all(nodes.map((node) => node.stop()))
  await rm(dir, { recursive: true, force: true })
}

// Why a member does not come up: `peer:dial-failed` says why each dial failed, and the error of a
// wait (or a send) that gives up names the last one.
// Run: node examples/dial-failures.mjs
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode, PeerUnavailableError } from '@peer/node'

const short = (text) => text.replace(/ [a-z2-7]{52}/g, ' <id>') // node ids differ per run
const [a, b, c] = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const discovery = new StaticDiscovery()
const node1 = await createNode({ name: 'node1@localhost', identity: a, trust: [b.id, c.id], discovery })
const node2 = await createNode({ name: 'node2@localhost', identity: b, trust: [] }) // trusts nobody
try {
  const said = new Set() // it redials with back-off: print each reason once
  const both = new Promise((resolve) => {
    node1.addEventListener('peer:dial-failed', (e) => {
      const line = `dial failed (${e.detail.error.name}): ${short(e.detail.error.message)}`
      if (!said.has(line)) console.log(line)
      said.add(line)
      if (said.size === 2) resolve()
    })
  })
  // a stale list: node2's address, but under c's id; and node2 itself, which does not trust node1
  discovery.add({ id: c.id, addresses: [node2.address] })
  discovery.add({ id: b.id, addresses: [node2.address] })
  await both
  try {
    await node1.waitForPeer(b.id, { timeoutMs: 100 })
  } catch (error) {
    if (!(error instanceof PeerUnavailableError)) throw error
    console.log(`gave up; the last dial failed: ${short(error.lastDialError ?? '')}`)
  }
} finally {
  await Promise.all([node1.stop(), node2.stop()])
}

// Two nodes on loopback: each has an identity, a QUIC listener registered in a ServerRegistry, and
// a PeerRegistry that dials the trusted peers its discovery reports.
// Run: node examples/two-peers.mjs
import { Discovery } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity, TrustList } from '@peer/identity'
import { PeerRegistry, ServerRegistry } from '@peer/registry'
import { createTransport } from '@peer/transport-quic'

async function startNode(name, trust) {
  const identity = await generateIdentity()
  const transport = createTransport({ identity, trust: trust.predicate })
  const listener = await transport.listen({ host: '127.0.0.1', port: 0 })

  // the named-server registry: port 0 resolves to the bound port
  const servers = new ServerRegistry()
  servers.register('peer', listener, { options: { alpn: 'peer/1' } })

  const peers = new StaticDiscovery({ self: identity.id })
  const discovery = new Discovery({ backends: [peers], self: identity.id })
  const registry = new PeerRegistry({ self: identity.id, transport, trust, discovery })
  // inbound connections reach the registry through accept()
  listener.addEventListener('connection', (e) => registry.accept(e.detail.connection))
  registry.addEventListener('peer:connected', (e) =>
    console.log(`${name}: connected to ${e.detail.id.slice(0, 8)} (${e.detail.direction})`),
  )
  await discovery.start()
  await registry.start()
  return {
    identity,
    port: servers.getPort('peer'),
    peers,
    registry,
    async stop() {
      await registry.stop()
      await discovery.stop()
      await transport.close()
    },
  }
}

const aliceTrust = new TrustList()
const bobTrust = new TrustList()
const alice = await startNode('alice', aliceTrust)
const bob = await startNode('bob', bobTrust)
try {
  // each trusts the other; alice learns where bob is (an address is only a hint: the dial pins bob's id)
  aliceTrust.add(bob.identity.id, { label: 'bob' })
  bobTrust.add(alice.identity.id, { label: 'alice' })
  const connected = (node) =>
    new Promise((resolve) => node.registry.addEventListener('peer:connected', resolve, { once: true }))
  const up = Promise.all([connected(alice), connected(bob)])
  alice.peers.add({ id: bob.identity.id, name: 'bob@localhost', addresses: [`127.0.0.1:${bob.port}`] })
  await up
  const status = alice.registry.status(bob.identity.id)
  console.log(
    `alice sees bob: ${status.state}, ${status.addresses.length} address(es), ${status.totalDials} dial(s)`,
  )
} finally {
  await alice.stop()
  await bob.stop()
}

// Named services: two nodes provide `greeter`, a third calls it by name and fails over when one
// provider stops. Static discovery carries each node's services in its record (`meta.services`,
// as a peer file would); with a backend that announces (etcd, mDNS), `provide()` alone publishes.
// Run: node examples/services.mjs
import { encodeServiceList, SERVICES_META_KEY } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const identities = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const trust = identities.map((identity) => identity.id)
const discovery = new StaticDiscovery()
const [client, ...servers] = await Promise.all(
  identities.map((identity, i) =>
    createNode({ name: `node${i + 1}@localhost`, identity, trust, ...(i === 0 ? { discovery } : {}) }),
  ),
)
try {
  for (const server of servers) {
    server.handle('greet', (who) => `hello ${who}, from ${server.name}`)
    await server.provide('greeter')
    const services = encodeServiceList(server.provided)
    discovery.add({
      id: server.id,
      name: server.name,
      addresses: [server.address],
      meta: { [SERVICES_META_KEY]: services },
    })
  }
  for (const server of servers) await client.waitForPeer(server.id)
  console.log(`providers: ${client.providers('greeter').length}`)
  const first = await client.request({ service: 'greeter' }, 'greet', 'world')
  // stop whichever answered: the next request goes to the other provider
  await servers.find((s) => first.endsWith(s.name)).stop()
  const second = await client.request({ service: 'greeter' }, 'greet', 'again')
  console.log(
    first.startsWith('hello world') &&
      second.startsWith('hello again') &&
      first.slice(-17) !== second.slice(-17)
      ? 'failover ok'
      : 'unexpected',
  )
} finally {
  await Promise.all([client, ...servers].map((node) => node.stop()))
}

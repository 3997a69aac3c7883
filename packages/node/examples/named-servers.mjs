// Named servers as cluster services: a ServerRegistry with `publish: node` provides the name of
// each server it registers (node.provide) and takes it back when the server closes; another node
// finds the server by name (providers, request({ service })). Static discovery carries the
// provider's record here, as a peer file would; with a backend that announces (etcd, mDNS) the
// registry alone publishes it.
// Run: node examples/named-servers.mjs
import { once } from 'node:events'
import { createServer } from 'node:net'
import { encodeServiceList, SERVICES_META_KEY } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'
import { ServerRegistry } from '@peer/registry'

const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
const trust = [a.id, b.id]
const discovery = new StaticDiscovery()
const provider = await createNode({ name: 'provider@localhost', identity: a, trust })
const client = await createNode({ name: 'client@localhost', identity: b, trust, discovery })
// what an announcing backend would carry: the provider's record, with the services it provides
const record = () => {
  const services = encodeServiceList(provider.provided)
  return {
    id: provider.id,
    name: provider.name,
    addresses: [provider.address],
    ...(services === undefined ? {} : { meta: { [SERVICES_META_KEY]: services } }),
  }
}
try {
  const servers = new ServerRegistry({ publish: provider })
  provider.handle('port-of', (name) => servers.getPort(name))
  const echo = createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1')
  await once(echo, 'listening')
  servers.register('echo', echo)
  await servers.published()
  console.log(`provider publishes: ${provider.provided.join(', ')}`)

  discovery.add(record())
  await client.waitForPeer(provider.id)
  const port = await client.request({ service: 'echo' }, 'port-of', 'echo')
  console.log(`client finds echo: ${client.providers('echo').length} provider, port ${port}`)

  echo.close()
  await once(echo, 'close')
  await servers.published()
  const gone = once(client, 'provider:removed')
  discovery.add(record())
  await gone
  console.log(
    `after close: provider publishes ${provider.provided.length}, client sees ${client.providers('echo').length}`,
  )
} finally {
  await Promise.all([client.stop(), provider.stop()])
}

// What code sees without a logger: a handler that throws is a `handler:failed` event (a one-way
// message has nobody else to tell), a call to a peer that is not up says why, and a payload that
// MessagePack would change is refused before anything is sent.
// Run: node examples/handler-errors.mjs
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode } from '@peer/node'

const short = (text) => text.replace(/[a-z2-7]{52}/g, '<id>') // node ids differ per run
const [a, b, c] = await Promise.all([1, 2, 3].map(() => generateIdentity()))
const discovery = new StaticDiscovery()
const node1 = await createNode({ name: 'node1@localhost', identity: a, trust: [b.id], discovery })
const node2 = await createNode({ name: 'node2@localhost', identity: b, trust: [a.id] })
try {
  const failed = new Promise((resolve) => {
    node2.addEventListener('handler:failed', (e) => {
      const { topic, kind, name, error } = e.detail
      console.log(`node2: the handler of ${topic} failed on a ${kind} from ${name}: ${error.message}`)
      resolve()
    })
  })
  node2.handle('orders', (order) => {
    if (order.qty < 1) throw new RangeError('qty must be at least 1')
  })
  discovery.add({ id: b.id, name: node2.name, addresses: [node2.address] })
  // node3 is listed too, but node1 does not trust it: it is never dialed
  discovery.add({ id: c.id, name: 'node3@localhost', addresses: [{ host: '127.0.0.1', port: 9 }] })
  await node1.waitForPeer('node2')
  await node1.send('node2', 'orders', { qty: 0 }) // resolves: send is fire and forget
  await failed
  for (const [peer, payload] of [
    ['node3', { qty: 1 }],
    ['node2', new Map([['qty', 1]])],
  ]) {
    await node1.send(peer, 'orders', payload).catch((error) => console.log(`node1: ${short(error.message)}`))
  }
} finally {
  await Promise.all([node1.stop(), node2.stop()])
}

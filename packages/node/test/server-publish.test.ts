// A ServerRegistry that publishes its names through a PeerNode (`publish: node`): a server
// registered on node A is a service node B finds (`providers`, `request({ service })`), and goes
// away when the server closes. Two real nodes on loopback QUIC; their records travel through an
// in-process announcing backend (board-discovery.ts), as they would through etcd or mDNS.
import { once } from 'node:events'
import { createServer } from 'node:net'
import { generateIdentity } from '@peer/identity'
import { InvalidServerNameError, ServerRegistry } from '@peer/registry'
import { nextEvent } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { createNode, type PeerNode } from '../src/index.js'
import { Board, startBoardNodes } from './board-discovery.js'
import { FAST_REGISTRY } from './helpers.js'

const nodes: PeerNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

it('a server registered on one node is a service the other node finds, until it closes', async () => {
  const board = new Board()
  nodes.push(
    ...(await startBoardNodes(board, ['n0', 'n1'], () => ({ registry: FAST_REGISTRY, stopTimeoutMs: 1000 }))),
  )
  const [a, b] = nodes as [PeerNode, PeerNode]
  a.handle('port', (name: string) => servers.getPort(name))
  const servers = new ServerRegistry({ publish: a })

  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const added = nextEvent<CustomEvent>(b, 'provider:added', (e) => e.detail.service === 'echo', 30_000)
  servers.register('echo', server)
  expect((await added).detail).toMatchObject({ service: 'echo', id: a.id, reason: 'announced' })
  expect(a.provided).toEqual(['echo'])
  expect(b.providers('echo')).toEqual([a.id])
  // found by service name from the other node: the provider answers with the server's port
  await b.waitForPeer(a.id, { timeoutMs: 30_000 })
  expect(await b.request({ service: 'echo' }, 'port', 'echo', { timeoutMs: 30_000 })).toBe(
    servers.getPort('echo'),
  )

  // a name that is a fine server name but no service name is refused at register
  expect(() => servers.register('Echo Server', server)).toThrow(InvalidServerNameError)

  const removed = nextEvent<CustomEvent>(b, 'provider:removed', (e) => e.detail.service === 'echo', 30_000)
  server.close()
  expect((await removed).detail).toMatchObject({ service: 'echo', id: a.id, reason: 'unprovided' })
  expect(b.providers('echo')).toEqual([])
  expect(a.provided).toEqual([])
  expect(servers.stats.publishErrors).toBe(0)
})

it('a publisher node that is not started rejects; the registry counts it and nothing escapes', async () => {
  const identity = await generateIdentity()
  const node = await createNode({ identity, trust: [identity.id], stopTimeoutMs: 1000 })
  await node.stop()
  const servers = new ServerRegistry({ publish: node })
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    servers.register('echo', server)
    await servers.published()
    expect(servers.stats.publishErrors).toBe(1)
    expect(servers.has('echo')).toBe(true)
  } finally {
    server.close()
  }
})

// The stop sequence: peers are told (peer:down `shutdown`, requests in flight fail with reason
// `shutdown`), and stop() resolves within its deadline even when a peer never answers anything.
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it, vi } from 'vitest'
import { createNode, NodeStoppedError, PeerUnavailableError } from '../src/index.js'
import { type Member, startChildNode, startCluster, stopAll } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/node-child.ts', import.meta.url))
const cleanups: Array<() => Promise<unknown>> = []
const running: Member[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  await stopAll(running.splice(0))
})

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

it('a stopping node tells its peers: peer:down with reason shutdown, requests in flight fail with reason shutdown', async () => {
  const members = await startCluster(['stays', 'leaves'], { stopTimeoutMs: 400 })
  running.push(...members)
  const [stays, leaves] = members as [Member, Member]
  leaves.node.handle('never', () => new Promise(() => {}))
  const events = recordEvents(stays.node, ['peer:down'])
  const inFlight = failure(stays.node.request(leaves.node.id, 'never', null, { timeoutMs: 30_000 }))
  await waitFor(() => leaves.node.peer(stays.node.id)?.stats.requestsReceived === 1)
  await leaves.node.stop()
  const error = await inFlight
  expect(error).toBeInstanceOf(PeerUnavailableError)
  expect(error).toMatchObject({ reason: 'shutdown' })
  await waitFor(() => events.of('peer:down').length === 1, { what: 'peer:down on the peer that stays' })
  expect(events.of('peer:down')[0]!.detail).toMatchObject({ id: leaves.node.id, reason: 'shutdown' })
})

it('stop() resolves within its deadline with a peer that never answers anything', async () => {
  const [mine, theirs, ghost] = await Promise.all([
    generateIdentity(),
    generateIdentity(),
    generateIdentity(),
  ])
  // a UDP socket that swallows everything: the dial to it never completes
  const { socket: blackHole, port: blackHolePort } = await silentUdpSocket()
  cleanups.push(() => new Promise<void>((resolve) => blackHole.close(() => resolve())))
  const discovery = new ManualBackend()
  const node = await createNode({
    identity: mine,
    trust: [theirs.id, ghost.id],
    name: 'leaving@localhost',
    discovery,
    lostHysteresisMs: 0,
    stopTimeoutMs: 1000,
    // every other limit is out of the test's reach: only the stop's deadline can end what waits
    registry: { dialTimeoutMs: 600_000 },
    transport: { maxIdleTimeoutMs: 600_000, connectTimeoutMs: 600_000 },
  })
  cleanups.push(() => node.stop())
  // a peer in a child process that will be frozen (SIGSTOP) with a request in flight
  const child: RpcChild = await spawnChild(fixture)
  cleanups.push(async () => {
    child.kill('SIGCONT')
    await child.close(2000)
  })
  await startChildNode(child, theirs, node, { name: 'frozen@localhost', idleMs: 600_000 })
  await node.waitForPeer('frozen', { timeoutMs: 15_000 })
  const inFlight = failure(node.request('frozen', 'never', null, { timeoutMs: 600_000 }))
  await waitFor(() => node.peer('frozen')?.stats.inFlight === 1)
  discovery.announcePeer(ghost.id, [{ host: '127.0.0.1', port: blackHolePort }])
  child.kill('SIGSTOP')

  // without the deadline this hangs until the 600 s limits, and the test times out first
  await node.stop()
  expect(node.state).toBe('stopped')
  expect(await inFlight).toBeInstanceOf(NodeStoppedError)
})

it('stop({ signal }): aborting gives up the drain and closes at once; the stop still resolves', async () => {
  // the drain would wait for the requests in flight until the 120 s deadline (the test fails first)
  const members = await startCluster(['asks', 'sits', 'late'], { stopTimeoutMs: 120_000 })
  running.push(...members)
  const [asks, sits, late] = members as [Member, Member, Member]
  for (const member of [asks, late]) member.node.handle('ping', () => new Promise(() => {}))
  const inFlight = failure(sits.node.request(asks.node.id, 'ping', null, { timeoutMs: 120_000 }))
  const lateInFlight = failure(sits.node.request(late.node.id, 'ping', null, { timeoutMs: 120_000 }))
  await waitFor(() => asks.node.peer(sits.node.id)?.stats.requestsReceived === 1)
  await waitFor(() => late.node.peer(sits.node.id)?.stats.requestsReceived === 1)
  const controller = new AbortController()
  const stopping = asks.node.stop({ signal: controller.signal })
  await waitFor(() => asks.node.state === 'stopping')
  controller.abort()
  await stopping
  expect(asks.node.state).toBe('stopped')
  expect(await inFlight).toBeInstanceOf(PeerUnavailableError)
  // a signal aborted before the call: no drain at all, the stop is immediate
  await late.node.stop({ signal: AbortSignal.abort() })
  expect(late.node.state).toBe('stopped')
  expect(await lateInFlight).toBeInstanceOf(PeerUnavailableError)
}, 30_000)

vi.setConfig({ testTimeout: 60_000 })

// No silent loss: messages accepted by `send` on a connection that dies before the peer confirms
// them are counted (per peer and node-wide) and reported in `message:dropped`. A real partition,
// made by the userland UDP relay between two real nodes.
import { generateIdentity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { createNode, type MessageDroppedDetail, type PeerNode } from '../src/index.js'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {})
})

it('counts and reports the messages a partition swallowed, per topic, and no others', async () => {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  // a short idle timeout: the partition ends the connection quickly
  const transport = { maxIdleTimeoutMs: 1500, keepAliveIntervalMs: 300 }
  const b: PeerNode = await createNode({ name: 'far@localhost', identity: ib, trust: [ia.id], transport })
  cleanup.push(() => b.stop())
  const relay: UdpRelay = await createUdpRelay({ listenHost: '127.0.0.1', target: b.address, seed: 3 })
  cleanup.push(() => relay.close())
  const discovery = new ManualBackend()
  // a dials b through the relay; b never dials a
  const a: PeerNode = await createNode({
    name: 'near@localhost',
    identity: ia,
    trust: [ib.id],
    discovery,
    transport,
    registry: { backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
  })
  cleanup.push(() => a.stop())
  discovery.announcePeer(b.id, [relay.address], { name: b.name })
  await a.waitForPeer(b.id, { timeoutMs: 10_000 })

  const got = { m: 0, n: 0 }
  b.handle('m', () => {
    got.m++
  })
  b.handle('n', () => {
    got.n++
  })
  for (let i = 0; i < 20; i++) await a.send(b.id, 'm', i)
  await waitFor(() => got.m === 20 && a.peer(b.id)?.stats.unconfirmed === 0, {
    what: 'the first 20 delivered and confirmed',
  })
  const events = recordEvents(a, ['message:dropped', 'peer:down'])

  relay.partition(true)
  // accepted by send (the transport buffers them) but never delivered
  for (let i = 0; i < 7; i++) await a.send(b.id, 'm', i)
  for (let i = 0; i < 5; i++) await a.send(b.id, 'n', i, { priority: 'bulk' })
  expect(a.peer(b.id)!.stats.unconfirmed).toBe(12)

  await waitFor(() => events.of('peer:down').length === 1, {
    timeoutMs: 15_000,
    what: 'peer:down after the idle timeout',
  })
  const details = events.of('message:dropped').map((e) => e.detail as MessageDroppedDetail)
  const byTopic = Object.fromEntries(details.map((d) => [d.topic, d.count]))
  expect(byTopic).toEqual({ m: 7, n: 5 })
  expect(details.every((d) => d.peer === b.id && d.name === 'far@localhost')).toBe(true)
  expect(a.stats.messagesDropped).toBe(12)
  expect(got).toEqual({ m: 20, n: 0 })
})

it('counts nothing when the peer handled everything and stopped gracefully at once', async () => {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const b: PeerNode = await createNode({ name: 'leaving@localhost', identity: ib, trust: [ia.id] })
  cleanup.push(() => b.stop())
  const discovery = new ManualBackend()
  const a: PeerNode = await createNode({ name: 'staying@localhost', identity: ia, trust: [ib.id], discovery })
  cleanup.push(() => a.stop())
  discovery.announcePeer(b.id, [b.address], { name: b.name })
  await a.waitForPeer(b.id, { timeoutMs: 10_000 })
  let got = 0
  let stopping: Promise<void> | undefined
  b.handle('last', () => {
    // the 30th message stops the node at once: its confirmations are still batched
    if (++got === 30) stopping = b.stop()
  })
  const events = recordEvents(a, ['message:dropped', 'peer:down'])
  for (let i = 0; i < 30; i++) await a.send(b.id, 'last', i)
  await waitFor(() => events.of('peer:down').length === 1, { what: 'peer:down' })
  await stopping
  expect(got).toBe(30)
  expect(events.of('message:dropped')).toEqual([])
  expect(a.stats.messagesDropped).toBe(0)
})

// Every queue and map of the node has a limit; each limit is hit here over real QUIC.
import { generateIdentity } from '@peer/identity'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { createTransport } from '@peer/transport-quic'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createNode,
  MAX_HANDLERS,
  MessageTooLargeError,
  NodeError,
  TooManyRequestsError,
} from '../src/index.js'
import { type Member, startCluster, startMember, stopAll } from './helpers.js'

let cluster: Member[] = []
beforeAll(async () => {
  cluster = await startCluster(['q1', 'q2'], { maxQueuedMessages: 10, maxConcurrentHandlers: 2 })
}, 30_000)
afterAll(async () => {
  await stopAll(cluster)
})
const a = () => cluster[0]!.node
const b = () => cluster[1]!.node

describe('limits', () => {
  it('messages queued for one peer are bounded (maxQueuedMessages)', async () => {
    let received = 0
    b().handle('flood', () => {
      received++
    })
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => a().send(b().id, 'flood', i)),
    )
    const refused = results.filter((r) => r.status === 'rejected')
    expect(refused.length).toBeGreaterThan(0)
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TooManyRequestsError)
    const accepted = results.length - refused.length
    expect(accepted).toBeGreaterThanOrEqual(10)
    await waitFor(() => received === accepted, { what: 'every accepted message' })
    // the queue drained: sending works again
    await a().send(b().id, 'flood', 'again')
    await waitFor(() => received === accepted + 1)
  })

  it('handlers running for one peer are bounded (maxConcurrentHandlers): reading pauses, nothing is lost', async () => {
    const releases: Array<() => void> = []
    let started = 0
    b().handle(
      'block',
      () =>
        new Promise<void>((resolve) => {
          started++
          releases.push(resolve)
        }),
    )
    for (let i = 0; i < 6; i++) await a().send(b().id, 'block', i)
    await waitFor(() => started === 2, { what: 'two handlers running' })
    await new Promise((r) => setTimeout(r, 200))
    expect(started).toBe(2)
    while (started < 6 || releases.length > 0) {
      releases.shift()?.()
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(started).toBe(6)
  })

  it('the backlog of messages waiting for a handler is bounded (maxQueuedMessages): then reading pauses', async () => {
    const releases: Array<() => void> = []
    let handled = 0
    b().handle(
      'pile',
      () =>
        new Promise<void>((resolve) => {
          releases.push(() => {
            handled++
            resolve()
          })
        }),
    )
    const before = b().peer(a().id)!.stats.messagesReceived
    for (let i = 0; i < 50; i++) await a().send(b().id, 'pile', i)
    await waitFor(() => releases.length === 2, { what: 'both slots taken' })
    await new Promise((r) => setTimeout(r, 300))
    // 2 running + 10 in the backlog; the other 38 wait in the transport (flow control)
    expect(b().peer(a().id)!.stats.messagesReceived - before).toBe(12)
    while (handled < 50) {
      releases.shift()?.()
      await new Promise((r) => setTimeout(r, 1))
    }
    expect(b().peer(a().id)!.stats.messagesReceived - before).toBe(50)
  })

  it('answers keep arriving while every handler slot is busy (no deadlock on nested requests)', async () => {
    const releases: Array<() => void> = []
    b().handle(
      'busy',
      () =>
        new Promise<void>((resolve) => {
          releases.push(resolve)
        }),
    )
    a().handle('echo', (x) => x)
    for (let i = 0; i < 4; i++) await a().send(b().id, 'busy', i)
    await waitFor(() => releases.length === 2, { what: 'both slots taken' })
    // b's handlers are saturated and two messages wait in its backlog; b still gets answers
    expect(await b().request(a().id, 'echo', 'pong', { timeoutMs: 3000 })).toBe('pong')
    while (releases.length > 0 || b().peer(a().id)!.stats.messagesReceived < 4) {
      releases.shift()?.()
      await new Promise((r) => setTimeout(r, 10))
    }
  })

  it('topics with handlers are bounded (MAX_HANDLERS)', () => {
    const offs: Array<() => void> = []
    a().handle('bulk-first', () => {})
    // fill up to the limit (the node may already have a few handlers)
    for (let i = 0; i < MAX_HANDLERS; i++) {
      try {
        offs.push(a().handle(`bulk-${i}`, () => {}))
      } catch {
        break
      }
    }
    expect(offs.length).toBeGreaterThan(MAX_HANDLERS - 10)
    expect(() => a().handle('one-too-many', () => {})).toThrow(NodeError)
    expect(() => a().handle('one-too-many', () => {})).toThrow(/at most 10000/)
    for (const off of offs) off()
    a().handle('one-too-many', () => {})
  })
})

it('a connection that never says hello is closed after helloTimeoutMs and never becomes peer:up', async () => {
  const raw = await generateIdentity()
  const node = await createNode({ trust: [raw.id], helloTimeoutMs: 300 })
  const transport = createTransport({ identity: raw, trust: () => true })
  try {
    const events = recordEvents(node, ['peer:up'])
    const conn = await transport.dial(node.address, { expectedId: node.id })
    const info = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 5000))])
    expect(info).not.toBe('open')
    expect(events.of('peer:up')).toEqual([])
  } finally {
    await transport.close()
    await node.stop()
  }
})

it('a peer with a smaller maxMessageSize is never sent more than it accepts (local MessageTooLargeError)', async () => {
  const members = await startCluster(['big', 'small'], {})
  try {
    const [big] = members as [Member, Member]
    // restart "small" with a smaller limit: same identity and port, so "big" redials it
    const small = members[1]!
    const { port } = small.node.address
    await small.node.stop()
    await waitFor(() => big.node.peer(small.identity.id) === undefined, { what: 'peer:down on big' })
    const again = await startMember(small.identity, [big.identity.id], {
      name: small.node.name,
      listen: { port },
      maxMessageSize: 8192,
    })
    members.push(again)
    again.discovery.announcePeer(big.node.id, [big.node.address])
    await big.node.waitForPeer(again.node.id, { timeoutMs: 15_000 })
    let got = 0
    again.node.handle('blob', () => {
      got++
    })
    await expect(big.node.send(again.node.id, 'blob', new Uint8Array(16 * 1024))).rejects.toBeInstanceOf(
      MessageTooLargeError,
    )
    await big.node.send(again.node.id, 'blob', new Uint8Array(4 * 1024))
    await waitFor(() => got === 1, { what: 'the small message' })
    expect(big.node.peer(again.node.id)).toBeDefined()
  } finally {
    await stopAll(members)
  }
}, 30_000)

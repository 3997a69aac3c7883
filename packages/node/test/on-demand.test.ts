// On-demand connections and the connection cap: real nodes, QUIC on loopback, peers announced by
// hand (the testkit's manual discovery backend).
import type { Socket } from 'node:dgram'
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, type NodeOptions, PeerUnavailableError } from '../src/index.js'
import { type Member, startMember, startMembers, stopAll } from './helpers.js'

const members: Member[] = []
const sockets: Socket[] = []
afterEach(async () => {
  await stopAll(members.splice(0))
  for (const s of sockets.splice(0)) s.close()
})

type Detail = { id: string; reason?: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `count` nodes that trust each other, each with `options(i)`, introduced (not connected). */
const cluster = (count: number, options: (i: number) => Partial<NodeOptions>): Promise<Member[]> =>
  startMembers(count, options, members)

const onDemand =
  (extra: Partial<NodeOptions> = {}) =>
  () => ({ connect: 'on-demand' as const, ...extra })

/** A handler on `topic` that waits until the test calls the returned `release()`. */
function gated(m: Member, topic: string): { release: () => void; entered: Promise<void> } {
  let release = () => {}
  let entered = () => {}
  const gate = new Promise<void>((r) => {
    release = r
  })
  const enteredP = new Promise<void>((r) => {
    entered = r
  })
  m.node.handle(topic, async () => {
    entered()
    await gate
    return 'done'
  })
  return { release, entered: enteredP }
}

describe('on-demand connections', () => {
  it('rejects a bad policy or cap with a ConfigError', async () => {
    await expect(createNode({ trust: [], connect: 'lazy' as never })).rejects.toBeInstanceOf(ConfigError)
    await expect(createNode({ trust: [], maxConnections: 0 })).rejects.toBeInstanceOf(ConfigError)
    await expect(createNode({ trust: [], idleCloseMs: -1 })).rejects.toBeInstanceOf(ConfigError)
  })

  it('takes a time limit with a fraction of a ms on a first use (it bounds the dial too)', async () => {
    const [a, b, c] = await cluster(3, onDemand())
    expect(await a!.node.request(b!.node.id, 'echo', 'x', { timeoutMs: 5000.5 })).toBe('x')
    expect(await c!.node.ping(a!.node.id, { timeoutMs: 5000.25 })).toBeGreaterThanOrEqual(0)
    expect(c!.node.registryStats?.dials).toBe(1)
  })

  it('dials nobody on discovery, dials on first use, and concurrent first uses share one dial', async () => {
    const [a, b] = await cluster(2, onDemand())
    // discovery events reach the registry synchronously: a mesh node would have dialed already
    expect(a!.node.registryStats?.dials).toBe(0)
    expect(b!.node.registryStats?.dials).toBe(0)
    expect(a!.node.peers()).toEqual([])
    expect(a!.node.members()).toMatchObject([{ id: b!.node.id, connected: false, lastUsed: undefined }])
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => a!.node.request(b!.node.name, 'echo', i, { timeoutMs: 5000 })),
    )
    expect(answers).toEqual([0, 1, 2, 3, 4])
    expect(a!.node.registryStats?.dials).toBe(1)
    expect(b!.node.registryStats?.dials).toBe(0)
    expect(a!.node.peers().map((p) => p.id)).toEqual([b!.node.id])
    expect(a!.node.members()[0]).toMatchObject({ connected: true, lastUsed: expect.any(Number) })
    // send and ping use the same connection
    await a!.node.send(b!.node.id, 'echo', 'x')
    await a!.node.ping(b!.node.id)
    expect(a!.node.registryStats?.dials).toBe(1)
  })

  it('first uses from both sides at once end on one connection, and every call is answered', async () => {
    const nodes = await cluster(4, onDemand())
    const calls = nodes.flatMap((m) =>
      nodes
        .filter((o) => o !== m)
        .map((o) => m.node.request(o.node.id, 'echo', o.node.id, { timeoutMs: 10_000 })),
    )
    const answers = await Promise.all(calls)
    expect(answers).toHaveLength(12)
    await waitFor(() => nodes.every((m) => m.node.peers().length === 3), { what: 'one connection per pair' })
    const second = await Promise.all(
      nodes.map((m) =>
        m.node.request(nodes[0]!.node.id === m.node.id ? nodes[1]!.node.id : nodes[0]!.node.id, 'echo', 1),
      ),
    )
    expect(second).toEqual([1, 1, 1, 1])
  })

  it('a dial that does not finish fails the call at its timeout or abort, as not-connected', async () => {
    const [a] = await cluster(1, onDemand())
    // a UDP socket that swallows every packet: the QUIC handshake never completes
    const { socket: sink, port: sinkPort } = await silentUdpSocket()
    sockets.push(sink)
    const ghost = await generateIdentity()
    a!.node.trust!.add(ghost.id)
    a!.discovery.announcePeer(ghost.id, [{ host: '127.0.0.1', port: sinkPort }], {
      name: 'ghost@localhost',
    })
    await waitFor(() => a!.node.members().length === 1, { what: 'the ghost member' })
    const timedOut = await a!.node.request(ghost.id, 'echo', 1, { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(PeerUnavailableError)
    expect((timedOut as PeerUnavailableError).reason).toBe('not-connected')
    expect((timedOut as Error).message).toMatch(/within 300 ms/)
    const controller = new AbortController()
    const aborted = a!.node
      .request('ghost', 'echo', 1, { signal: controller.signal })
      .catch((e: unknown) => e)
    controller.abort()
    expect(((await aborted) as Error).name).toBe('AbortError')
    // one dial in flight all along (the second call joined it)
    expect(a!.node.registryStats?.dials).toBe(1)
  })

  it('closes a connection idle for idleCloseMs (peer:down idle on both sides), no redial, next use redials', async () => {
    // a closes it (b's limit is far off): b must not redial what a released
    const [a, b] = await cluster(2, (i) => ({ connect: 'on-demand', idleCloseMs: i === 0 ? 300 : 60_000 }))
    const downA = nextEvent<CustomEvent>(a!.node, 'peer:down', undefined, 10_000)
    const downB = nextEvent<CustomEvent>(b!.node, 'peer:down', undefined, 10_000)
    expect(await a!.node.request(b!.node.id, 'echo', 'hi')).toBe('hi')
    const [da, db] = await Promise.all([downA, downB])
    expect(da.detail.reason).toBe('idle')
    expect(db.detail.reason).toBe('idle')
    expect([a!.node.stats.idleCloses, b!.node.stats.idleCloses]).toEqual([1, 0])
    // quiet period: a redial (backoff 50 ms in these tests) would show up well within it
    await sleep(500)
    expect(a!.node.registryStats?.dials).toBe(1)
    expect(b!.node.registryStats?.dials).toBe(0)
    expect(a!.node.peers()).toEqual([])
    expect(b!.node.peers()).toEqual([])
    expect(a!.node.members()).toHaveLength(1)
    expect(await a!.node.request(b!.node.id, 'echo', 'again')).toBe('again')
    expect(a!.node.registryStats?.dials).toBe(2)
  })

  it('over maxConnections, evicts the least recently used idle connection, never one with work in flight', async () => {
    const [a, b, c, d] = await cluster(4, (i) => ({
      connect: 'on-demand',
      ...(i === 0 ? { maxConnections: 2 } : {}),
    }))
    const slow = gated(b!, 'slow')
    const { events } = recordEvents(a!.node, ['peer:down'])
    const pending = a!.node.request(b!.node.id, 'slow', null, { timeoutMs: 20_000 })
    await slow.entered
    // b is the least recently used, but busy; c is idle
    expect(await a!.node.request(c!.node.id, 'echo', 'c')).toBe('c')
    expect(await a!.node.request(d!.node.id, 'echo', 'd')).toBe('d')
    expect(events.map((e) => [e.type, (e.detail as Detail).id, (e.detail as Detail).reason])).toEqual([
      ['peer:down', c!.node.id, 'evicted'],
    ])
    expect(a!.node.stats.evictions).toBe(1)
    expect(
      a!.node
        .peers()
        .map((p) => p.id)
        .sort(),
    ).toEqual([b!.node.id, d!.node.id].sort())
    await waitFor(() => c!.node.peers().length === 0, { what: 'c sees the eviction' })
    slow.release()
    expect(await pending).toBe('done')
  })

  it('at the cap with nothing idle, refuses: a dial fails with a clear message, an inbound connection is counted', async () => {
    const [a, b, c] = await cluster(3, (i) => ({
      connect: 'on-demand',
      ...(i === 0 ? { maxConnections: 1 } : {}),
    }))
    const slow = gated(b!, 'slow')
    const pending = a!.node.request(b!.node.id, 'slow', null, { timeoutMs: 20_000 })
    await slow.entered
    const out = await a!.node.request(c!.node.id, 'echo', 1).catch((e: unknown) => e)
    expect(out).toBeInstanceOf(PeerUnavailableError)
    expect((out as PeerUnavailableError).reason).toBe('not-connected')
    expect((out as Error).message).toContain('connection cap reached (1)')
    const inbound = await c!.node.request(a!.node.id, 'echo', 1, { timeoutMs: 5000 }).catch((e: unknown) => e)
    expect(inbound).toBeInstanceOf(PeerUnavailableError)
    expect(a!.node.stats.refusedOverCap).toBe(1)
    expect(a!.node.peers().map((p) => p.id)).toEqual([b!.node.id])
    slow.release()
    expect(await pending).toBe('done')
  })

  it('member:joined / member:left tell membership, next to peer:up / peer:down for the connection', async () => {
    const [a, b] = await cluster(2, onDemand())
    const { events } = recordEvents(a!.node, ['member:joined', 'member:left', 'peer:up', 'peer:down'])
    const c = await startMember(await generateIdentity(), 'all', {
      connect: 'on-demand',
      name: 'c@localhost',
    })
    members.push(c)
    a!.node.trust!.add(c.node.id)
    c.node.handle('echo', (p) => p)
    a!.discovery.announcePeer(c.node.id, [c.node.address], { name: c.node.name })
    await waitFor(() => events.length === 1, { what: 'member:joined' })
    await a!.node.request('c', 'echo', 1)
    const down = nextEvent(a!.node, 'peer:down', undefined, 10_000)
    await c.node.stop()
    await down
    a!.discovery.losePeer(c.node.id)
    await waitFor(() => events.length === 4, { what: 'member:left' })
    expect(events.map((e) => [e.type, (e.detail as Detail).id])).toEqual([
      ['member:joined', c.node.id],
      ['peer:up', c.node.id],
      ['peer:down', c.node.id],
      ['member:left', c.node.id],
    ])
    expect(events[0]!.detail).toMatchObject({ name: 'c@localhost', source: 'manual' })
    expect(events[2]!.detail).toMatchObject({ reason: 'shutdown' })
    expect(events[3]!.detail).toMatchObject({ reason: 'removed' })
    expect(a!.node.members().map((m) => m.id)).toEqual([b!.node.id])
  })
})

describe('the cap with the mesh policy', () => {
  it('a mesh stops growing at the cap: the member over it is refused, not redialed', async () => {
    const [a] = await cluster(3, (i) => (i === 0 ? { maxConnections: 1 } : {}))
    // every pair dials; a keeps one connection (its idle links are evicted to make room, at most one at a time)
    await waitFor(() => a!.node.peers().length === 1 && a!.node.registryStats!.connects >= 1, {
      what: 'a at its cap',
    })
    expect(a!.node.peers()).toHaveLength(1)
  })
})

// Lanes: topics travel on separate QUIC streams, so a stalled bulk topic never blocks another
// topic, and order within a topic is kept under concurrency. Real nodes, real QUIC on loopback.
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { createUdpRelay } from '@peer/testkit/udp-relay'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNode, laneOf } from '../src/index.js'
import { BULK_LANES, CONTROL_LANE, LANE_COUNT, NORMAL_LANES, priorityClass } from '../src/internal.js'
import { type Member, startCluster, stopAll } from './helpers.js'

describe('topic -> lane mapping', () => {
  it('is deterministic, and the priority picks the class of lanes', () => {
    for (const topic of ['a', 'orders', 'bulk', 'ping', 'x'.repeat(256)]) {
      expect(laneOf(topic, undefined)).toBe(laneOf(topic, 'normal'))
      expect(NORMAL_LANES).toContain(laneOf(topic, 'normal'))
      expect(BULK_LANES).toContain(laneOf(topic, 'bulk'))
      expect(laneOf(topic, 'urgent')).toBe(CONTROL_LANE)
    }
    expect(new Set(Array.from({ length: 100 }, (_, i) => laneOf(`t${i}`, 'normal'))).size).toBe(
      NORMAL_LANES.length,
    )
    expect(LANE_COUNT).toBe(1 + NORMAL_LANES.length + BULK_LANES.length)
    expect([0, 1, 2, 4, 5, 7].map((n) => priorityClass(n))).toEqual([
      'urgent',
      'urgent',
      'normal',
      'normal',
      'bulk',
      'bulk',
    ])
    for (const bad of [-1, 8, 1.5, 'fast'] as never[]) expect(() => priorityClass(bad)).toThrow(ConfigError)
  })
})

describe('lanes between two nodes', () => {
  let members: Member[]
  const a = () => members[0]!.node
  const b = () => members[1]!.node

  beforeAll(async () => {
    // two handler slots and a backlog of four per lane: a stuck lane fills up quickly
    members = await startCluster(['lane-a', 'lane-b'], { maxConcurrentHandlers: 2, maxQueuedMessages: 4 })
  })
  afterAll(() => stopAll(members))

  it('a bulk topic whose handler never returns does not block another topic', async () => {
    const stuck: Array<() => void> = []
    let bulkStarted = 0
    b().handle(
      'stalled-bulk',
      () =>
        new Promise<void>((resolve) => {
          bulkStarted++
          stuck.push(resolve)
        }),
      { priority: 'bulk' },
    )
    const small: number[] = []
    b().handle('small', (n: number) => {
      small.push(n)
    })
    b().handle('ask', (n: number) => n * 2)
    // saturate the bulk lane: 2 handlers stuck, 4 queued, the rest waits in QUIC flow control or
    // in the sender's lane queue (these sends may stay pending: not awaited)
    const payload = new Uint8Array(64 * 1024)
    let settled = 0
    let accepted = 0
    for (let i = 0; i < 40; i++) {
      a()
        .send(b().id, 'stalled-bulk', payload, { priority: 'bulk' })
        .then(
          () => accepted++,
          () => {}, // over the sender's lane queue limit (4 here)
        )
        .finally(() => settled++)
    }
    await waitFor(() => bulkStarted === 2, { what: 'both bulk handler slots stuck' })
    // the bulk lane is stalled: another topic still flows, and requests are answered
    for (let i = 0; i < 20; i++) await a().send(b().id, 'small', i)
    await waitFor(() => small.length === 20, { what: 'small messages delivered past the stalled bulk lane' })
    expect(small).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(await a().request(b().id, 'ask', 21, { timeoutMs: 10_000 })).toBe(42)
    expect(await a().ping(b().id, { timeoutMs: 10_000 })).toBeGreaterThan(0)
    expect(bulkStarted).toBe(2)
    // release the bulk lane: everything accepted arrives
    while (settled < 40 || bulkStarted < accepted || stuck.length > 0) {
      stuck.shift()?.()
      await new Promise((r) => setTimeout(r, 2))
    }
    expect(accepted).toBeGreaterThanOrEqual(4)
  })

  it('keeps the order of each topic while many topics, sizes and priorities interleave', async () => {
    const topics = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6']
    const priorities = ['normal', 'bulk', 'urgent', 'normal', 3, 6] as const
    const seen = new Map<string, number[]>(topics.map((t) => [t, []]))
    for (const t of topics) {
      b().handle(t, async (msg: { n: number }) => {
        seen.get(t)!.push(msg.n)
        // handlers finishing out of order must not reorder how they are started
        if (msg.n % 7 === 0) await new Promise((r) => setTimeout(r, 1))
      })
    }
    const per = 150
    await Promise.all(
      topics.map(async (t, i) => {
        for (let n = 0; n < per; n++) {
          const pad = n % 10 === 0 ? new Uint8Array(32 * 1024) : undefined
          // the six topics' sends interleave (each topic awaits its own sends)
          await a().send(b().id, t, { n, pad }, { priority: priorities[i]! })
        }
      }),
    )
    await waitFor(() => topics.every((t) => seen.get(t)!.length === per), {
      timeoutMs: 30_000,
      what: 'every message of every topic',
    })
    for (const t of topics) expect(seen.get(t)).toEqual(Array.from({ length: per }, (_, n) => n))
  })

  it('a handler declares its priority: its answers and default sends take that class of lane', async () => {
    b().handle('declared', (x: unknown) => x, { priority: 'bulk' })
    a().handle('declared', () => {}, { priority: 'bulk' })
    expect(await a().request(b().id, 'declared', 'big', { timeoutMs: 10_000 })).toBe('big')
    expect(() => a().handle('bad-priority', () => {}, { priority: 9 })).toThrow(ConfigError)
    await expect(a().send(b().id, 'declared', 1, { priority: 'soon' as never })).rejects.toThrow(ConfigError)
  })
})

describe('the bulk window', () => {
  it('keeps at most maxBulkBytesInFlight of bulk messages unconfirmed (one message always goes)', async () => {
    const members = await startCluster(['window-a', 'window-b'], {
      maxConcurrentHandlers: 2,
      maxBulkBytesInFlight: 100_000,
      bulkWindowScaling: false, // a loaded machine's loopback RTT must not change the window here
    })
    try {
      const [a, b] = [members[0]!.node, members[1]!.node]
      const stuck: Array<() => void> = []
      b.handle('big', () => new Promise<void>((resolve) => stuck.push(resolve)), { priority: 'bulk' })
      let resolved = 0
      const sends = Array.from({ length: 10 }, () =>
        a.send(b.id, 'big', new Uint8Array(64 * 1024), { priority: 'bulk' }).then(() => resolved++),
      )
      // two reach the stuck handlers (confirmed), the third waits in b's backlog (unconfirmed),
      // and 64 KiB more would pass 100,000 bytes in flight: the fourth waits in a's lane
      await waitFor(() => stuck.length === 2 && a.peer(b.id)?.stats.unconfirmed === 1, {
        what: 'two handled, one in flight',
      })
      await new Promise((r) => setTimeout(r, 300))
      expect(a.peer(b.id)!.stats.unconfirmed).toBe(1)
      expect(resolved).toBe(3)
      // normal lanes have no byte window
      b.handle('normal-big', () => new Promise<void>((resolve) => stuck.push(resolve)))
      for (let i = 0; i < 6; i++) await a.send(b.id, 'normal-big', new Uint8Array(64 * 1024))
      await waitFor(() => a.peer(b.id)!.stats.unconfirmed >= 5, { what: 'normal messages in flight' })
      while (resolved < 10 || stuck.length > 0) {
        stuck.shift()?.()
        await new Promise((r) => setTimeout(r, 2))
      }
      await Promise.all(sends)
    } finally {
      await stopAll(members)
    }
  })
})

describe('the bulk window on a long path', () => {
  it('grows with the lowest RTT: through a 40 ms relay, several bulk messages are in flight', async () => {
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const options = { maxConcurrentHandlers: 1, maxBulkBytesInFlight: 100_000 }
    const b = await createNode({ name: 'far@localhost', identity: ib, trust: [ia.id], ...options })
    const relay = await createUdpRelay({ listenHost: '127.0.0.1', target: b.address, delayMs: 40, seed: 5 })
    const discovery = new ManualBackend()
    const a = await createNode({
      name: 'near@localhost',
      identity: ia,
      trust: [ib.id],
      discovery,
      ...options,
    })
    try {
      discovery.announcePeer(b.id, [relay.address], { name: b.name })
      await a.waitForPeer(b.id, { timeoutMs: 10_000 })
      const stuck: Array<() => void> = []
      b.handle('far-big', () => new Promise<void>((resolve) => stuck.push(resolve)), { priority: 'bulk' })
      let resolved = 0
      const sends = Array.from({ length: 12 }, () =>
        a.send(b.id, 'far-big', new Uint8Array(64 * 1024), { priority: 'bulk' }).then(() => resolved++),
      )
      // RTT >= 80 ms: the window is at least 4 x 100,000 bytes, so many 64 KiB messages go at once
      await waitFor(() => (a.peer(b.id)?.stats.unconfirmed ?? 0) >= 4, {
        timeoutMs: 15_000,
        what: 'several bulk messages in flight',
      })
      while (resolved < 12 || stuck.length > 0) {
        stuck.shift()?.()
        await new Promise((r) => setTimeout(r, 5))
      }
      await Promise.all(sends)
    } finally {
      await Promise.allSettled([a.stop(), b.stop()])
      await relay.close()
    }
  })
})

describe('a busy lane yields the event loop', () => {
  it('dispatches at most maxLaneBytesPerTurn of a lane per event-loop turn, so other I/O runs in between', async () => {
    const members = await startCluster(['turns-a', 'turns-b'], {
      maxLaneBytesPerTurn: 4096,
      maxBulkBytesInFlight: 16 * 1024 * 1024,
      bulkWindowScaling: false,
    })
    // counts event-loop turns: a check-phase callback, like the I/O of another lane, runs once per
    // turn; the envelopes of one turn are those a lane handed out without letting it run
    let turn = 0
    let ticking = true
    const tick = () => {
      turn++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    try {
      const [a, b] = [members[0]!.node, members[1]!.node]
      const perTurn = new Map<number, number>()
      let got = 0
      b.handle(
        'flood',
        () => {
          got++
          perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1)
        },
        { priority: 'bulk' },
      )
      const count = 2000
      await Promise.all(
        Array.from({ length: count }, () =>
          a.send(b.id, 'flood', new Uint8Array(1000), { priority: 'bulk' }),
        ),
      )
      await waitFor(() => got === count, { timeoutMs: 30_000, what: 'every flood message handled' })
      // about 1 KiB per envelope: 5 reach the 4 KiB budget, then the lane yields; a turn may hold the
      // envelopes before and after one yield. Without the bound a turn hands out a whole read
      // (dozens of envelopes: everything the transport read in one go)
      const most = Math.max(...perTurn.values())
      expect(most).toBeLessThanOrEqual(12)
    } finally {
      ticking = false
      await stopAll(members)
    }
  })

  it('refuses a maxLaneBytesPerTurn that is not a positive integer', async () => {
    const identity = await generateIdentity()
    for (const bad of [0, -1, 1.5, 'x'] as never[]) {
      await expect(createNode({ identity, trust: [], maxLaneBytesPerTurn: bad })).rejects.toThrow(ConfigError)
    }
  })
})

// The matrixai engine's stream ends written again after a loss (fin-resend.ts): the rules, on a
// stand-in for the engine's connection; then the wiring, on the real engine through a lossy relay.
import type { Identity } from '@peer/identity'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { ENGINE_OBJECT } from '../src/engine.js'
import { type FinConnection, FinResender, MAX_TRACKED_ENDS } from '../src/fin-resend.js'
import { identities, Pool, readDigest } from './fixtures/pool.js'

class FakeConnection implements FinConnection {
  lost = 0
  closed = false
  /** `null` answers (quiche's Done: the stream was collected) for these stream ids. */
  readonly collected = new Set<number>()
  /** Ids whose write throws (stopped by the peer). */
  readonly stopped = new Set<number>()
  readonly writes: Array<{ id: number; bytes: number; fin: boolean }> = []
  pings = 0
  sends = 0
  /** Reads of the counters: one per tick. */
  reads = 0
  readonly conn = {
    streamSend: (id: number, data: Uint8Array, fin: boolean): number | null => {
      if (this.stopped.has(id)) throw new Error('StreamStopped(0)')
      if (this.collected.has(id)) return null
      this.writes.push({ id, bytes: data.byteLength, fin })
      return 0
    },
    sendAckEliciting: () => {
      this.pings++
    },
    stats: () => {
      this.reads++
      return { lost: BigInt(this.lost) }
    },
    isClosed: () => this.closed,
  }
  send(): Promise<void> {
    this.sends++
    return Promise.resolve()
  }
}

const made: FinResender[] = []
function resender(connection: FinConnection, schedule = [5, 10, 20], recentLossMs = 1000): FinResender {
  const r = new FinResender(connection, { schedule, minTickMs: 1, recentLossMs })
  made.push(r)
  return r
}
afterEach(() => {
  for (const r of made.splice(0)) r.stop()
})
/** A stand-in connection that has lost `lost` packets so far. */
function connectionThatLost(lost: number): FakeConnection {
  const c = new FakeConnection()
  c.lost = lost
  return c
}
/** Resolves once every end `r` watched has run its schedule (or was dropped). */
const watchedAll = (r: FinResender) => waitFor(() => r.size === 0, { timeoutMs: 10_000 })

describe('FinResender', () => {
  it('writes nothing again on a connection that lost nothing, and forgets the stream after the schedule', async () => {
    const c = connectionThatLost(0)
    const r = resender(c)
    r.ended(0)
    expect(r.size).toBe(1)
    await watchedAll(r)
    expect(c.writes).toEqual([])
    expect(c.pings).toBe(0)
    expect(r.resent).toBe(0)
  })

  it('after a loss before the end, writes the end again (empty, FIN) at every step, with an ack-eliciting packet', async () => {
    const c = connectionThatLost(3)
    const r = resender(c)
    r.ended(4)
    await watchedAll(r)
    expect(c.writes).toEqual([
      { id: 4, bytes: 0, fin: true },
      { id: 4, bytes: 0, fin: true },
      { id: 4, bytes: 0, fin: true },
    ])
    expect(c.pings).toBe(3)
    expect(c.sends).toBe(3)
    expect(r.resent).toBe(3)
  })

  it('a loss after the end makes the remaining steps write it', async () => {
    const c = new FakeConnection()
    const r = resender(c, [5, 1000, 1500])
    r.ended(8)
    // the first step passes without a loss (its tick read the counters)
    await waitFor(() => c.reads >= 1, { timeoutMs: 10_000, intervalMs: 1 })
    expect(c.writes).toEqual([])
    c.lost = 1
    await watchedAll(r)
    expect(c.writes.map((w) => w.id)).toEqual([8, 8])
  })

  it('an end soon after a loss seen is re-written; one long after it is not', async () => {
    // soon: within recentLossMs (60 s here) of the loss the first tick saw
    const c = connectionThatLost(2)
    const r = resender(c, [5, 10, 20], 60_000)
    r.ended(0)
    await waitFor(() => c.writes.length > 0, { timeoutMs: 10_000, intervalMs: 1 })
    r.ended(4)
    await watchedAll(r)
    expect(new Set(c.writes.map((w) => w.id))).toEqual(new Set([0, 4]))
    // long after: recentLossMs of 1 ms has passed, and nothing was lost since
    const later = connectionThatLost(2)
    const s = resender(later, [5, 10, 20], 1)
    s.ended(0)
    await waitFor(() => later.writes.length > 0, { timeoutMs: 10_000, intervalMs: 1 })
    await new Promise((resolve) => setTimeout(resolve, 10))
    s.ended(8)
    await watchedAll(s)
    expect(later.writes.filter((w) => w.id === 8)).toEqual([])
  })

  it('reads the counters once per tick, not per end, and ticks at most every minTickMs', async () => {
    const c = connectionThatLost(0)
    const r = new FinResender(c, { schedule: [100, 200], minTickMs: 50 })
    made.push(r)
    for (let i = 0; i < 200; i++) r.ended(i * 4)
    expect(c.reads).toBe(0)
    await watchedAll(r)
    // two steps, ticks 50 ms apart at least: a handful of reads for 200 ends
    expect(c.reads).toBeLessThanOrEqual(6)
  })

  it('stops at once for a stream quiche no longer has (Done) or that the peer stopped', async () => {
    const c = connectionThatLost(1)
    c.collected.add(0)
    c.stopped.add(4)
    const r = resender(c)
    r.ended(0)
    r.ended(4)
    await watchedAll(r)
    expect(c.writes).toEqual([])
    expect(c.pings).toBe(0)
  })

  it('does nothing once the connection is closed, and stop() leaves no timer', async () => {
    const c = connectionThatLost(1)
    const r = resender(c)
    r.ended(0)
    c.closed = true
    await watchedAll(r)
    expect(c.writes).toEqual([])
    r.ended(4)
    expect(r.size).toBe(0)
  })

  it(`watches at most ${MAX_TRACKED_ENDS} ends per connection (the oldest goes first)`, () => {
    const c = new FakeConnection()
    const r = resender(c, [60_000])
    for (let i = 0; i < MAX_TRACKED_ENDS + 10; i++) r.ended(i * 4)
    expect(r.size).toBe(MAX_TRACKED_ENDS)
  })
})

describe('on the matrixai engine, through a relay that drops packets', () => {
  const pool = Pool.forFile({ client: 'matrixai', server: 'quinn' })

  it('writes the end of a stream again after its connection lost packets, and every stream ends', async () => {
    const [a, b] = (await identities(2)) as [Identity, Identity]
    const { client, server, relay } = await pool.pairThroughRelay(a, b, { seed: 7 })
    try {
      relay.impair({ loss: 0.1 })
      // the ends the engine writes: each stream's own close, then the re-writes (counted on the
      // engine's real connection, which still does the writing)
      const ends = new Map<number, number>()
      let native: NativeSend | undefined
      for (let i = 0; i < 3; i++) {
        const s = await client.openStream()
        const engine = (s as unknown as Record<symbol, EngineQuicStream>)[ENGINE_OBJECT]
        if (native === undefined && engine !== undefined) {
          const conn = engine.connection.conn
          const original = conn.streamSend.bind(conn)
          conn.streamSend = (id, data, fin) => {
            if (fin && data.byteLength === 0) ends.set(id, (ends.get(id) ?? 0) + 1)
            return original(id, data, fin)
          }
          native = conn
        }
        const received = server.acceptStream().then((peer) => readDigest(peer.readable))
        const w = s.writable.getWriter()
        for (let m = 0; m < 25; m++) await w.write(new Uint8Array(4000))
        await w.close()
        expect((await received).bytes).toBe(100_000)
      }
      expect(native).toBeDefined()
      expect(relay.dropped.up).toBeGreaterThan(0)
      expect(ends.size).toBeGreaterThanOrEqual(3)
      // written once by each close; after the losses, some again
      await waitFor(() => [...ends.values()].some((n) => n > 1), { timeoutMs: 30_000 })
    } finally {
      await relay.close()
    }
  }, 120_000)
})

interface NativeSend {
  streamSend(id: number, data: Uint8Array, fin: boolean): number | null
}
interface EngineQuicStream {
  connection: { conn: NativeSend }
}

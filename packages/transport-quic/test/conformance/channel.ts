import { randomFillSync } from 'node:crypto'
import type { Identity } from '@peer/identity'
import { waitFor } from '@peer/testkit/wait'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { ChunkPool } from '../../src/chunk-pool.js'
import {
  type Connection,
  createMessageChannel,
  FrameTooLargeError,
  MalformedFrameError,
  type Stream,
  StreamResetError,
  TransportLimitError,
} from '../../src/index.js'
import { tuningFor } from '../../src/tuning.js'
import { identities } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function channelScenarios(kit: Kit): void {
  const { pool } = kit
  let a: Identity
  let b: Identity
  let client: Connection
  let server: Connection
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
    ;({ client, server } = await pool.pair(a, b))
  })

  /** Copies every message of `channel` until it ends, pausing `pauseMs` after every `every` messages. */
  async function collectSlowly(channel: AsyncIterable<Uint8Array>, every: number, pauseMs: number) {
    const got: Buffer[] = []
    for await (const m of channel) {
      got.push(Buffer.from(m))
      if (got.length % every === 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
    return got
  }

  function expectSameMessages(got: Buffer[], sent: Buffer[]): void {
    expect(got.length).toBe(sent.length)
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `message ${i}`).toBe(true)
  }

  async function rawWrite(bytes: Uint8Array[], end = true) {
    const s = await client.openStream()
    const w = s.writable.getWriter()
    for (const b of bytes) await w.write(b)
    if (end) await w.close()
    w.releaseLock()
    return s
  }

  function u32(n: number): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n, 0)
    return b
  }

  describe('message channel framing', () => {
    it('rejects an oversize send on the sender; the channel stays usable', async () => {
      const ch = await client.openChannel({ maxFrameSize: 1024 })
      const peer = server.acceptChannel()
      await expect(ch.send(new Uint8Array(1025))).rejects.toBeInstanceOf(FrameTooLargeError)
      await ch.send(new Uint8Array(1024))
      const p = await peer
      expect((await p.receive())?.byteLength).toBe(1024)
    })

    it('resets the stream when the peer announces a frame above our maximum; the sender sees the reset', async () => {
      const ch = await client.openChannel({ maxFrameSize: 1024 * 1024 })
      const peerP = server.acceptChannel({ maxFrameSize: 1000 })
      await ch.send(Buffer.from('small first'))
      await ch.send(new Uint8Array(5000))
      const peer = await peerP
      expect(Buffer.from((await peer.receive())!).toString()).toBe('small first')
      const error = await peer.receive().catch((e) => e)
      expect(error).toBeInstanceOf(FrameTooLargeError)
      expect((error as FrameTooLargeError).size).toBe(5000)
      // the sender learns about the reset on a later send
      let sendError: unknown
      for (let i = 0; i < 200 && sendError === undefined; i++) {
        await ch.send(new Uint8Array(100)).catch((e) => {
          sendError = e
        })
        await new Promise((r) => setTimeout(r, 5))
      }
      expect(sendError).toBeInstanceOf(StreamResetError)
      // quinn resets with code 0 whatever the code asked for (capability streamResetCodes)
      if (kit.lacks('server', 'streamResetCodes') === undefined) {
        expect((sendError as StreamResetError).code).toBe(3)
      }
      expect(client.isClosed).toBe(false)
      expect(server.isClosed).toBe(false)
    })

    it('reports a frame cut short by the end of the stream', async () => {
      await rawWrite([u32(10), Buffer.from('abc')])
      const ch = createMessageChannel(await server.acceptStream())
      const error = await ch.receive().catch((e) => e)
      expect(error).toBeInstanceOf(MalformedFrameError)
      expect(error.message).toMatch(/3 of 10 payload bytes/)
    })

    it('reports a header cut short', async () => {
      await rawWrite([u32(2), Buffer.from('ok'), Buffer.from([0, 0])])
      const ch = createMessageChannel(await server.acceptStream())
      expect(Buffer.from((await ch.receive())!).toString()).toBe('ok')
      await expect(ch.receive()).rejects.toThrow(/2 of 4 header bytes/)
    })

    it('rejects a header announcing 4 GiB without allocating it', async () => {
      await rawWrite([u32(0xffffffff)], false)
      const ch = createMessageChannel(await server.acceptStream())
      await expect(ch.receive()).rejects.toBeInstanceOf(FrameTooLargeError)
    })

    it('accepts empty messages and frames split across writes at every byte', async () => {
      const frames = Buffer.concat([u32(0), u32(3), Buffer.from('xyz'), u32(1), Buffer.from('!')])
      await rawWrite([...frames].map((byte) => Uint8Array.of(byte)))
      const ch = createMessageChannel(await server.acceptStream())
      const got: string[] = []
      for await (const m of ch) got.push(Buffer.from(m).toString())
      expect(got).toEqual(['', 'xyz', '!'])
    })

    it("sends a new channel's kind with the messages of the same turn: the peer gets them in its first read", async () => {
      const out = await client.openChannel()
      void out.send(Buffer.from('first'))
      void out.send(Buffer.from('second'))
      const inc = await server.acceptChannel()
      const batch = (await inc.receiveBatch())?.map((m) => Buffer.from(m).toString())
      expect(batch).toEqual(['first', 'second'])
      // a channel nothing is sent on still reaches the peer at once
      const quiet = await client.openChannel()
      const seen = await server.acceptChannel()
      expect(seen.id).toBe(quiet.id)
      await Promise.all([out.close(), quiet.close()])
    })

    it('iterates like an async generator: break stops quietly, an error is thrown once and then done', async () => {
      await rawWrite([u32(1), Buffer.from('a'), u32(1), Buffer.from('b'), u32(1), Buffer.from('c')])
      const ch = createMessageChannel(await server.acceptStream())
      for await (const m of ch) {
        expect(Buffer.from(m).toString()).toBe('a')
        break
      }
      // a new loop goes on where the last one stopped
      const rest: string[] = []
      for await (const m of ch) rest.push(Buffer.from(m).toString())
      expect(rest).toEqual(['b', 'c'])

      await rawWrite([u32(5), Buffer.from('xy')]) // cut short: the iterator throws the framing error
      const bad = createMessageChannel(await server.acceptStream())
      const it = bad[Symbol.asyncIterator]()
      await expect(it.next()).rejects.toBeInstanceOf(MalformedFrameError)
      await expect(it.next()).resolves.toEqual({ done: true, value: undefined })
    })

    it('receiveBatch hands out what arrived together, in order, up to max; then undefined, or the error', async () => {
      const [ours, theirs] = await Promise.all([client.openChannel(), server.acceptChannel()])
      const sent = Array.from({ length: 3000 }, (_, i) => Buffer.from(`m${i}`))
      for (const m of sent) void ours.send(m)
      await ours.flush()
      const got: Buffer[] = []
      let batches = 0
      let largest = 0
      while (got.length < sent.length) {
        const batch = await theirs.receiveBatch({ max: 1000 })
        if (batch === undefined) throw new Error('ended early')
        expect(batch.length).toBeGreaterThan(0)
        expect(batch.length).toBeLessThanOrEqual(1000)
        largest = Math.max(largest, batch.length)
        batches++
        for (const m of batch) got.push(Buffer.from(m))
      }
      expectSameMessages(got, sent)
      // many messages per batch: one read from the peer carries hundreds of them
      expect(largest).toBeGreaterThan(100)
      expect(batches).toBeLessThan(sent.length / 10)
      // it mixes with receive, and waits for the next message when none is queued
      const next = theirs.receiveBatch()
      await ours.send(Buffer.from('late'))
      expect((await next)?.map((m) => Buffer.from(m).toString())).toEqual(['late'])
      await ours.send(Buffer.from('one'))
      expect(Buffer.from((await theirs.receive())!).toString()).toBe('one')
      // a bad max is a caller error; an aborted wait rejects with the signal's reason
      await expect(theirs.receiveBatch({ max: 0 })).rejects.toThrow(/max must be an integer/)
      const controller = new AbortController()
      const waiting = theirs.receiveBatch({ signal: controller.signal })
      controller.abort()
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
      await ours.close()
      await expect(theirs.receiveBatch()).resolves.toBeUndefined()

      await rawWrite([u32(1), Buffer.from('a'), u32(5), Buffer.from('xy')]) // the second is cut short
      const bad = createMessageChannel(await server.acceptStream())
      // what arrived before the error comes first, then the framing error
      expect((await bad.receiveBatch())?.map((m) => Buffer.from(m).toString())).toEqual(['a'])
      await expect(bad.receiveBatch()).rejects.toBeInstanceOf(MalformedFrameError)
    })

    it('recycles write chunks without corrupting messages still in flight (mixed sizes, checked byte for byte)', async () => {
      // tiny stream windows and a slow reader: writes go out in pieces, waiting for credit, so a
      // chunk handed back before its write completed would be overwritten while still queued
      const window = { initialMaxStreamData: 16_384, maxStreamWindow: 16_384, initialMaxData: 65_536 }
      const small = await pool.pair(a, b, window, window)
      // and a send buffer that never blocks the sender: it keeps filling chunks while writes wait
      const [ours, theirs] = await Promise.all([
        small.client.openChannel({ maxBufferedBytes: 64 * 1024 * 1024 }),
        small.server.acceptChannel(),
      ])
      // sizes that fill chunks exactly, leave remainders, and exceed the chunk size
      const sizes = [1, 100, 65_532, 65_536, 70_000, 30_000, 4, 0, 200_000, 12_345]
      const messages = Array.from({ length: 300 }, (_, i) =>
        randomFillSync(Buffer.alloc(sizes[i % sizes.length]!)),
      )
      const given = vi.spyOn(ChunkPool.prototype, 'give')
      const received = collectSlowly(theirs, 10, 1)
      for (const [i, m] of messages.entries()) {
        await ours.send(m)
        // let the flush loop start writes between sends, so chunks are taken while others are in flight
        if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await ours.close()
      expectSameMessages(await received, messages)
      // chunks went back to the pool as their writes completed, and were reused
      expect(given.mock.calls.length).toBeGreaterThan(100)
      given.mockRestore()
    })

    it('reads without a second copy, and a slow reader with a short queue still gets every byte intact', async () => {
      // the receiving channel reads the engine's read buffer directly (no copy per read); the engine
      // must not read into it again until the channel has copied the frames out. A short queue and
      // a slow consumer make data pile up in the engine, so every read finds data waiting.
      const [ours, theirs] = await Promise.all([
        client.openChannel(),
        server.acceptChannel({ maxQueuedMessages: 2 }),
      ])
      // the engine's own read path copies each read out of its read buffer with Buffer.from
      const readChunk = tuningFor('127.0.0.1').readChunkSize
      const from = vi.spyOn(Buffer, 'from')
      const engineCopies = () =>
        from.mock.calls.filter(([a]) => a instanceof Uint8Array && a.buffer.byteLength === readChunk).length
      const messages = Array.from({ length: 120 }, (_, i) =>
        randomFillSync(Buffer.alloc(1000 + ((i * 7919) % 90_000))),
      )
      const received = collectSlowly(theirs, 4, 2)
      for (const m of messages) await ours.send(m)
      await ours.close()
      expectSameMessages(await received, messages)
      // lent reads are a matrixai engine feature (quinn's binding hands out fresh buffers anyway)
      if (kit.pair.server === 'matrixai') expect(engineCopies()).toBe(0)
      from.mockRestore()
    })

    it('drops a stream with an unknown kind byte (and an empty one) without hurting the connection', async () => {
      const conn = server as unknown as { droppedStreams: number }
      const before = conn.droppedStreams
      const forged = await (
        client as unknown as { openStreamWithKind(k: number): Promise<Stream> }
      ).openStreamWithKind(0x7f)
      // the receiver may stop the forged stream as soon as it reads the kind byte, before our write
      // or close is acknowledged (quinn -> matrixai under load): that is the drop, not a failure
      const w = forged.writable.getWriter()
      await w.write(Buffer.from('junk')).catch(() => {})
      await w.close().catch(() => {})
      const control = await (
        client as unknown as { openStreamWithKind(k: number): Promise<Stream> }
      ).openStreamWithKind(0)
      await control.writable
        .getWriter()
        .close()
        .catch(() => {})
      await waitFor(() => conn.droppedStreams === before + 2)
      const s = await client.openStream()
      const w2 = s.writable.getWriter()
      await w2.write(Buffer.from('data'))
      await w2.close()
      const t = await server.acceptStream()
      expect(t.id).toBe(s.id)
      expect(client.isClosed || server.isClosed).toBe(false)
    })
  })

  describe('backpressure', () => {
    it('send waits when the peer does not read, with bounded buffers, and resumes when it reads', async () => {
      const ch = await client.openChannel({ maxBufferedBytes: 64 * 1024 })
      const peerP = server.acceptChannel({ maxQueuedMessages: 16 })
      const message = new Uint8Array(16 * 1024)
      let sent = 0
      let stalled = false
      // 1,600 x 16 KiB = 25 MiB: above the bound checked below, so a sender that never stalls fails;
      // small enough that draining it through a matrixai receiver at load 30 fits the time limit
      const count = 1600
      const pump = (async () => {
        for (let i = 0; i < count; i++) {
          await ch.send(message)
          sent++
        }
        await ch.close()
      })()
      const peer = await peerP
      // nobody reads: sending must stall well before count x 16 KiB
      // stalled = no progress for 10 checks in a row (200 ms); give a loaded machine 10 s to get there
      let last = -1
      let still = 0
      for (let i = 0; i < 500 && !stalled; i++) {
        await new Promise((r) => setTimeout(r, 20))
        still = sent === last ? still + 1 : 0
        stalled = still >= 10
        last = sent
      }
      expect(stalled).toBe(true)
      // bounded by the 16 MiB stream window + the 64 KiB send buffer + 16 queued messages
      expect(sent * 16 * 1024).toBeLessThan(20 * 1024 * 1024)
      // reading drains it
      let received = 0
      for await (const m of peer) received += m.byteLength
      await pump
      expect(sent).toBe(count)
      expect(received).toBe(count * 16 * 1024)
    }, 180_000)

    it('refuses sends from a caller that ignores backpressure, instead of buffering without bound', async () => {
      const ch = await client.openChannel({ maxBufferedBytes: 1024 })
      server.acceptChannel({ maxQueuedMessages: 1 }).catch(() => {})
      const results = await Promise.allSettled(
        Array.from({ length: 5000 }, () => ch.send(new Uint8Array(1024))),
      )
      const refused = results.filter((r) => r.status === 'rejected')
      expect(refused.length).toBeGreaterThan(0)
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(TransportLimitError)
      ch.reset()
    })
  })
}

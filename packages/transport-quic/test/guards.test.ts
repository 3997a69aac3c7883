// Guards against a misbehaving (trusted) peer: a frame stalled halfway resets the channel, streams
// of an unknown kind past maxProtocolErrors close the connection with PROTOCOL_ERROR, and
// incoming stream opens beyond maxStreamOpensPerSecond are reset and counted.
import type { Identity } from '@peer/identity'
import { describe, expect, it } from 'vitest'
import { CODE, MalformedFrameError, type Stream } from '../src/index.js'
import { KIND_CHANNEL } from '../src/internal.js'
import { identities, Pool } from './fixtures/pool.js'

const pool = Pool.forFile()
const [a, b] = (await identities(2)) as [Identity, Identity]
const pairOf = pool.pairOf(a, b)

type WithKind = { openStreamWithKind(kind: number): Promise<Stream> }

describe('transport guards', () => {
  it('a frame that stalls for partialFrameTimeoutMs fails the channel with MalformedFrameError', async () => {
    const { client, server } = await pairOf({ channel: { partialFrameTimeoutMs: 200 } })
    const stream = await (client as unknown as WithKind).openStreamWithKind(KIND_CHANNEL)
    const writer = stream.writable.getWriter()
    const bytes = new Uint8Array(4 + 3 + 4 + 5)
    const view = new DataView(bytes.buffer)
    view.setUint32(0, 3) // a whole frame of 3 bytes
    view.setUint32(7, 500) // then a frame of 500 bytes, 5 of which arrive
    await writer.write(bytes)
    const channel = await server.acceptChannel({ signal: AbortSignal.timeout(5000) })
    expect((await channel.receive())?.byteLength).toBe(3)
    await expect(channel.receive()).rejects.toBeInstanceOf(MalformedFrameError)
    await expect(channel.receive()).rejects.toThrow(/stalled inside a frame for 200 ms/)
  })

  it('frames that keep completing never time out, however long the reads wait in all', async () => {
    // each write ends inside a frame (in its header or its payload), so the reader is never at a
    // frame boundary; the waits add up to well past partialFrameTimeoutMs, each stays below it
    const timeoutMs = 2000
    const { client, server } = await pairOf({ channel: { partialFrameTimeoutMs: timeoutMs } })
    const stream = await (client as unknown as WithKind).openStreamWithKind(KIND_CHANNEL)
    const writer = stream.writable.getWriter()
    const count = 14
    const frames = Array.from({ length: count }, (_, i) => {
      const frame = new Uint8Array(4 + 100 + i)
      new DataView(frame.buffer).setUint32(0, 100 + i)
      frame.fill(i, 4)
      return frame
    })
    const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0))
    let at = 0
    const ends: number[] = []
    for (const [i, f] of frames.entries()) {
      all.set(f, at)
      at += f.byteLength
      // the cut: 2 bytes into the next frame's header, or 50 bytes into its payload
      if (i < count - 1) ends.push(at + (i % 2 === 0 ? 2 : 50))
    }
    ends.push(all.byteLength)
    const channel = server.acceptChannel({ signal: AbortSignal.timeout(30_000) })
    const started = performance.now()
    let from = 0
    for (const end of ends) {
      await writer.write(all.slice(from, end))
      from = end
      await new Promise((r) => setTimeout(r, 250))
    }
    const ch = await channel
    for (let i = 0; i < count; i++) {
      const got = await ch.receive()
      expect(got?.byteLength).toBe(100 + i)
      expect(got?.[0]).toBe(i)
    }
    expect(performance.now() - started).toBeGreaterThan(timeoutMs) // the waits did add up past it
  })

  it('past maxProtocolErrors bad streams, the connection is closed with PROTOCOL_ERROR and a reason', async () => {
    const { client, server } = await pairOf({ maxProtocolErrors: 3 })
    // the 4th bad stream closes the connection; on a fast engine (quinn) the close can arrive
    // while the loop still opens, so an open that fails because the connection closed ends it
    for (let i = 0; i < 4 && !client.isClosed; i++) {
      const s = await (client as unknown as WithKind).openStreamWithKind(0x66).catch(() => undefined)
      s?.writable
        .getWriter()
        .write(Uint8Array.of(1))
        .catch(() => {})
    }
    const info = await client.closed
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/protocol error: more than 3 bad streams, the last: unknown stream kind 102/)
    await server.closed
    expect(server.isClosed).toBe(true)
  })

  it('stream opens beyond maxStreamOpensPerSecond are reset and count as protocol errors', async () => {
    const { client } = await pairOf({ maxStreamOpensPerSecond: 2, maxProtocolErrors: 2 })
    // a burst of 4 is allowed; then 3 over the rate close the connection
    for (let i = 0; i < 12 && !client.isClosed; i++) {
      const s = await client.openStream().catch(() => undefined)
      s?.writable
        .getWriter()
        .write(Uint8Array.of(1))
        .catch(() => {})
    }
    const info = await client.closed
    expect(info.code).toBe(CODE.PROTOCOL_ERROR)
    expect(info.reason).toMatch(/stream opens per second/)
  })
})

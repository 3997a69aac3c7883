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

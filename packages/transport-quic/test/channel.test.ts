import type { Identity } from '@peer/identity'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Connection,
  createMessageChannel,
  FrameTooLargeError,
  MalformedFrameError,
  type Stream,
  StreamResetError,
  TransportLimitError,
} from '../src/index.js'
import { identities, Pool } from './fixtures/pool.js'

const pool = new Pool()
let a: Identity
let b: Identity
let client: Connection
let server: Connection

beforeAll(async () => {
  ;[a, b] = (await identities(2)) as [Identity, Identity]
  ;({ client, server } = await pool.pair(a, b))
})
afterAll(() => pool.closeAll())

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
    expect((sendError as StreamResetError).code).toBe(3)
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

  it('drops a stream with an unknown kind byte (and an empty one) without hurting the connection', async () => {
    const conn = server as unknown as { droppedStreams: number }
    const before = conn.droppedStreams
    const forged = await (
      client as unknown as { openStreamWithKind(k: number): Promise<Stream> }
    ).openStreamWithKind(0x7f)
    const w = forged.writable.getWriter()
    await w.write(Buffer.from('junk'))
    await w.close()
    const control = await (
      client as unknown as { openStreamWithKind(k: number): Promise<Stream> }
    ).openStreamWithKind(0)
    await control.writable.getWriter().close()
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
    const pump = (async () => {
      for (let i = 0; i < 4000; i++) {
        await ch.send(message)
        sent++
      }
      await ch.close()
    })()
    const peer = await peerP
    // nobody reads: sending must stall well before 4000 x 16 KiB = 64 MiB
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
    expect(sent).toBe(4000)
    expect(received).toBe(4000 * 16 * 1024)
  }, 30_000)

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

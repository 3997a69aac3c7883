// Byte streams between real nodes on loopback: echo, refusal of unknown topics, backpressure, the
// bound on open streams, and streams ending with the node. Plus the send-file example.
import { generateIdentity } from '@peer/identity'
import { runExample } from '@peer/testkit/examples'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PeerStream, StreamRefusedError, TooManyRequestsError } from '../src/index.js'
import { introduce, type Member, startCluster, startMember, stopAll } from './helpers.js'

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  const reader = readable.getReader()
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value)
  reader.releaseLock()
  return Buffer.concat(parts)
}

describe('byte streams', () => {
  let members: Member[]
  const a = () => members[0]!.node
  const b = () => members[1]!.node

  beforeAll(async () => {
    members = await startCluster(['stream-a', 'stream-b'], { maxByteStreams: 3 })
  })
  afterAll(() => stopAll(members))

  it('carries bytes both ways (echo) and counts the open streams in peer stats', async () => {
    b().handleStream('echo', async (stream, { from, topic }) => {
      expect(from.id).toBe(a().id)
      expect(topic).toBe('echo')
      await stream.readable.pipeTo(stream.writable)
    })
    const stream = await a().openStream(b().id, 'echo')
    expect(a().peer(b().id)!.stats.byteStreams).toBe(1)
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
    const [echoed] = await Promise.all([
      readAll(stream.readable),
      (async () => {
        const writer = stream.writable.getWriter()
        for (let at = 0; at < data.byteLength; at += 100_000)
          await writer.write(data.subarray(at, at + 100_000))
        await writer.close()
      })(),
    ])
    expect(Buffer.compare(echoed, data)).toBe(0)
    await stream.closed
    await waitFor(
      () => a().peer(b().id)!.stats.byteStreams === 0 && b().peer(a().id)!.stats.byteStreams === 0,
      {
        what: 'both sides release the stream',
      },
    )
  })

  it('refuses a topic without a stream handler with a clear error on the opener', async () => {
    const error = await a()
      .openStream(b().id, 'nobody-here')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StreamRefusedError)
    expect((error as StreamRefusedError).reason).toBe('no-handler')
    expect((error as Error).message).toMatch(/no stream handler for this topic/)
    expect(a().peer(b().id)!.stats.byteStreams).toBe(0)
  })

  it('pushes back on a writer whose reader does not read, and delivers everything once it reads', async () => {
    let resume: () => void = () => {}
    const reading = new Promise<void>((resolve) => {
      resume = resolve
    })
    let received = 0
    b().handleStream('slow', async (stream) => {
      await reading
      const reader = stream.readable.getReader()
      for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.byteLength
      await stream.writable.close()
    })
    const stream = await a().openStream(b().id, 'slow')
    const chunk = new Uint8Array(256 * 1024)
    const total = 160
    let written = 0
    const writer = stream.writable.getWriter()
    const writing = (async () => {
      for (let i = 0; i < total; i++) {
        await writer.write(chunk)
        written++
      }
      await writer.close()
    })()
    await waitFor(() => written >= 2, { what: 'the first writes' })
    // the receiver does not read: the writer stalls on flow control long before 40 MiB
    await new Promise((r) => setTimeout(r, 1000))
    expect(written).toBeLessThan(total)
    resume()
    await writing
    await waitFor(() => received === total * chunk.byteLength, {
      what: 'every byte received',
      timeoutMs: 30_000,
    })
    await readAll(stream.readable)
  })

  it('bounds the byte streams open with a peer (maxByteStreams), on both sides', async () => {
    const held: PeerStream[] = []
    b().handleStream('hold', async (stream) => {
      await readAll(stream.readable).catch(() => {})
    })
    for (let i = 0; i < 3; i++) held.push(await a().openStream(b().id, 'hold'))
    // the opener's own bound
    await expect(a().openStream(b().id, 'hold')).rejects.toBeInstanceOf(TooManyRequestsError)
    // the accepting side's bound: b opens one itself, so a's 3 leave no room on b
    a().handleStream('hold', async (stream) => {
      await readAll(stream.readable).catch(() => {})
    })
    const refused = await b()
      .openStream(a().id, 'hold')
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TooManyRequestsError)
    for (const s of held) {
      await s.writable.close()
      await readAll(s.readable) // the handler returned: its side was finished for it
    }
    await waitFor(() => a().peer(b().id)!.stats.byteStreams === 0, { what: 'streams released' })
    const again = await a().openStream(b().id, 'hold')
    await again.writable.close()
  })

  it('refuses a stream when the accepting side is at its bound (reason limit)', async () => {
    const [ix, iy] = await Promise.all([generateIdentity(), generateIdentity()])
    const trust = [ix.id, iy.id]
    const c = [
      await startMember(ix, trust, { name: 'wide@localhost', maxByteStreams: 8 }),
      await startMember(iy, trust, { name: 'narrow@localhost', maxByteStreams: 1 }),
    ]
    try {
      introduce(c)
      const [x, y] = [c[0]!.node, c[1]!.node]
      await x.waitForPeer(y.id)
      y.handleStream('hold', async (stream) => {
        await readAll(stream.readable).catch(() => {})
      })
      const first = await x.openStream(y.id, 'hold') // y holds its one stream
      const error = await x.openStream(y.id, 'hold').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StreamRefusedError)
      expect((error as StreamRefusedError).reason).toBe('limit')
      await first.writable.close()
      await readAll(first.readable)
      await waitFor(() => y.peer(x.id)!.stats.byteStreams === 0, { what: 'released' })
      const again = await x.openStream(y.id, 'hold')
      await again.writable.close()
    } finally {
      await stopAll(c)
    }
  })

  it('resets the streams of a node that stops', async () => {
    const c = await startCluster(['stop-a', 'stop-b'])
    try {
      const [x, y] = [c[0]!.node, c[1]!.node]
      let failed: unknown
      y.handleStream('forever', async (stream) => {
        try {
          await readAll(stream.readable)
        } catch (error) {
          failed = error
        }
      })
      const stream = await x.openStream(y.id, 'forever')
      const writer = stream.writable.getWriter()
      await writer.write(new Uint8Array(10))
      await x.stop()
      await stream.closed
      await waitFor(() => failed !== undefined || y.peer(x.id) === undefined, {
        what: 'the peer sees the end',
      })
      await expect(writer.write(new Uint8Array(1))).rejects.toBeDefined()
    } finally {
      await stopAll(c)
    }
  })
})

describe('the send-file example', () => {
  it('runs as a script, sends a file whose hash matches, and exits by itself', async () => {
    const { stdout } = await runExample('packages/node/examples/send-file.mjs', { timeoutMs: 40_000 })
    expect(stdout.trim()).toBe("sent 4194304 bytes; the receiver's sha256 matches")
  }, 50_000)
})

import { createHash, randomBytes } from 'node:crypto'
import type { Identity } from '@peer/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { identities, type Pool, readDigest } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function streamScenarios(kit: Kit): void {
  const { pool, bulkBytes } = kit
  const bulkMiB = bulkBytes / (1024 * 1024)
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })
  const pair: ReturnType<Pool['pairOf']> = (...options) => pool.pairOf(a, b)(...options)

  describe('streams over loopback', () => {
    it('delivers a stream closed at once, and channels written at once, after their preamble', async () => {
      // the preamble is written as the stream opens; a close or the first message right after
      // it must follow it on the wire (an engine's own writes run as separate tasks)
      const { client, server } = await pair()
      for (let i = 0; i < 5; i++) {
        const s = await client.openStream()
        const accepted = server.acceptStream()
        await s.writable.getWriter().close()
        expect(await arrayOf((await accepted).readable)).toEqual([])
      }
      const channels = await Promise.all(Array.from({ length: 5 }, () => client.openChannel()))
      for (const [i, ch] of channels.entries()) void ch.send(Uint8Array.of(i))
      const got: number[] = []
      for (let i = 0; i < 5; i++) {
        const ch = await server.acceptChannel()
        got.push((await ch.receive())?.[0] as number)
      }
      expect(got.sort()).toEqual([0, 1, 2, 3, 4])
      await client.close()
    })

    it('opens and accepts bidirectional streams in both directions', async () => {
      const { client, server } = await pair()
      for (const [opener, acceptor] of [
        [client, server],
        [server, client],
      ] as const) {
        const s = await opener.openStream()
        const accepted = acceptor.acceptStream()
        const w = s.writable.getWriter()
        await w.write(new TextEncoder().encode('ping'))
        await w.close()
        const t = await accepted
        expect(new TextDecoder().decode(Buffer.concat(await arrayOf(t.readable)))).toBe('ping')
        const w2 = t.writable.getWriter()
        await w2.write(new TextEncoder().encode('pong'))
        await w2.close()
        expect(new TextDecoder().decode(Buffer.concat(await arrayOf(s.readable)))).toBe('pong')
      }
    })

    it(`transfers ${bulkMiB} MiB on a raw stream, checksummed`, async () => {
      const { client, server } = await pair()
      const data = randomBytes(bulkBytes)
      const expected = createHash('sha256').update(data).digest('hex')
      const s = await client.openStream()
      const received = server.acceptStream().then((t) => readDigest(t.readable))
      const w = s.writable.getWriter()
      for (let at = 0; at < data.byteLength; at += 256 * 1024)
        await w.write(data.subarray(at, at + 256 * 1024))
      await w.close()
      const got = await received
      expect(got.bytes).toBe(data.byteLength)
      expect(got.sha).toBe(expected)
    }, 60_000)

    it(`transfers ${bulkMiB} MiB as 1 MiB messages on a channel, checksummed`, async () => {
      const { client, server } = await pair()
      const data = randomBytes(bulkBytes)
      const expected = createHash('sha256').update(data).digest('hex')
      const ch = await client.openChannel()
      const received = (async () => {
        const peer = await server.acceptChannel()
        const hash = createHash('sha256')
        let bytes = 0
        for await (const m of peer) {
          hash.update(m)
          bytes += m.byteLength
        }
        return { bytes, sha: hash.digest('hex') }
      })()
      for (let at = 0; at < data.byteLength; at += 1024 * 1024)
        await ch.send(data.subarray(at, at + 1024 * 1024))
      await ch.close()
      const got = await received
      expect(got).toEqual({ bytes: data.byteLength, sha: expected })
    }, 60_000)

    it('delivers 10,000 messages in order', async () => {
      const { client, server } = await pair()
      const ch = await client.openChannel()
      const received = (async () => {
        const peer = await server.acceptChannel()
        const seen: number[] = []
        for await (const m of peer) seen.push(Buffer.from(m).readUInt32BE(0))
        return seen
      })()
      for (let i = 0; i < 10_000; i++) {
        const m = Buffer.alloc(4 + (i % 200))
        m.writeUInt32BE(i, 0)
        await ch.send(m)
      }
      await ch.close()
      const seen = await received
      expect(seen).toHaveLength(10_000)
      expect(seen.every((v, i) => v === i)).toBe(true)
    })

    it('runs 1,000 concurrent streams with a peer limit of 50: opens queue, nothing breaks', async () => {
      const { client, server } = await pair({ maxStreams: 50 }, { maxStreams: 50 })
      const echo = (async () => {
        const tasks: Promise<void>[] = []
        for await (const t of server.streams()) {
          tasks.push(
            (async () => {
              const body = Buffer.concat(await arrayOf(t.readable))
              const w = t.writable.getWriter()
              await w.write(body)
              await w.close()
            })(),
          )
          if (tasks.length === 1000) break
        }
        await Promise.all(tasks)
      })()
      const results = await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          const s = await client.openStream()
          const w = s.writable.getWriter()
          await w.write(Buffer.from(`stream ${i}`))
          await w.close()
          return Buffer.concat(await arrayOf(s.readable)).toString()
        }),
      )
      await echo
      expect(results.every((r, i) => r === `stream ${i}`)).toBe(true)
      // the connection still works afterwards
      const ch = await client.openChannel()
      await ch.send(Buffer.from('after'))
      const peer = await server.acceptChannel()
      expect(Buffer.from((await peer.receive())!).toString()).toBe('after')
      expect(client.isClosed).toBe(false)
    }, 60_000)

    it('runs many channels side by side on one connection', async () => {
      const { client, server } = await pair()
      const serve = (async () => {
        for await (const ch of server.channels()) {
          void (async () => {
            for await (const m of ch) await ch.send(m)
            await ch.close()
          })()
        }
      })()
      const replies = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const ch = await client.openChannel()
          const out: string[] = []
          for (let j = 0; j < 20; j++) {
            await ch.send(Buffer.from(`${i}:${j}`))
            out.push(Buffer.from((await ch.receive())!).toString())
          }
          await ch.close()
          return out
        }),
      )
      expect(replies[7]?.[19]).toBe('7:19')
      await client.close()
      await serve
    })
  })

  async function arrayOf(readable: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) out.push(chunk)
    return out
  }
}

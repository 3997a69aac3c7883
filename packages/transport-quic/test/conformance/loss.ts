import { createHash } from 'node:crypto'
import type { Identity } from '@peer/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { identities, readDigest } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

/**
 * Data and ends through a path that loses and reorders packets (the testkit's userland relay; this
 * kernel has no netem). A lost stream end (FIN) once left the matrixai engine's peer waiting
 * forever with every byte in hand (see fin-resend.ts).
 */
export function lossScenarios(kit: Kit): void {
  const { pool } = kit
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })

  describe('through a path that drops 5% of packets', () => {
    it('delivers every message in order and every channel end, and a raw stream byte for byte', async () => {
      // seeded: the same packets are dropped on every run (jitter of 2 ms reorders some)
      const { client, server, relay } = await pool.pairThroughRelay(a, b, { seed: 11 })
      try {
        relay.impair({ loss: 0.05, jitterMs: 2 })
        for (let round = 0; round < 3; round++) {
          const ch = await client.openChannel()
          const received = (async () => {
            const peer = await server.acceptChannel()
            const seen: number[] = []
            for await (const m of peer) {
              expect(m.byteLength).toBe(4 + ((seen.length * 37) % 1500))
              seen.push(Buffer.from(m).readUInt32BE(0))
            }
            return seen
          })()
          for (let i = 0; i < 300; i++) {
            const m = Buffer.alloc(4 + ((i * 37) % 1500), i)
            m.writeUInt32BE(i, 0)
            await ch.send(m)
          }
          await ch.close()
          const seen = await received
          expect(seen).toHaveLength(300)
          expect(seen.every((v, i) => v === i)).toBe(true)
        }
        const data = Buffer.alloc(512 * 1024)
        for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i)
        const stream = await client.openStream()
        const got = server.acceptStream().then((peer) => readDigest(peer.readable))
        const w = stream.writable.getWriter()
        for (let at = 0; at < data.length; at += 64 * 1024) await w.write(data.subarray(at, at + 64 * 1024))
        await w.close()
        expect(await got).toEqual({
          bytes: data.length,
          sha: createHash('sha256').update(data).digest('hex'),
        })
        expect(relay.dropped.up + relay.dropped.down).toBeGreaterThan(0)
      } finally {
        await relay.close()
      }
    }, 180_000)
  })
}

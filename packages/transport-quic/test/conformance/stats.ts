import { randomBytes } from 'node:crypto'
import type { Identity } from '@peer/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Connection, ConnectionStats } from '../../src/index.js'
import { identities, type Pool } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

/** The connection's counters; both engines keep them. */
function statsOf(connection: Connection): ConnectionStats {
  const stats = connection.stats
  expect(stats).toBeDefined()
  return stats!
}

export function statsScenarios(kit: Kit): void {
  const { pool } = kit
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })
  const pair: ReturnType<Pool['pairOf']> = (...options) => pool.pairOf(a, b)(...options)

  describe('engine counters', () => {
    it('count datagrams both ways with stream traffic, and keep their final values after close', async () => {
      const { client, server } = await pair()
      const before = { client: statsOf(client), server: statsOf(server) }
      // 256 KiB is at least four datagrams at the largest loopback payload
      const data = randomBytes(256 * 1024)
      const s = await client.openStream()
      const accepted = server.acceptStream()
      const w = s.writable.getWriter()
      await w.write(data)
      await w.close()
      const t = await accepted
      let received = 0
      for await (const chunk of t.readable as unknown as AsyncIterable<Uint8Array>)
        received += chunk.byteLength
      expect(received).toBe(data.byteLength)
      const w2 = t.writable.getWriter()
      await w2.write(Uint8Array.of(1))
      await w2.close()
      for await (const _ of s.readable as unknown as AsyncIterable<Uint8Array>) {
        // drain the answer
      }
      const after = { client: statsOf(client), server: statsOf(server) }
      for (const side of ['client', 'server'] as const) {
        expect(after[side].datagramsReceived).toBeGreaterThan(0)
        expect(after[side].datagramsSent).toBeGreaterThan(0)
      }
      expect(after.client.datagramsSent - before.client.datagramsSent).toBeGreaterThanOrEqual(4)
      expect(after.server.datagramsReceived - before.server.datagramsReceived).toBeGreaterThanOrEqual(4)

      await client.close('done')
      await server.closed
      for (const [side, connection] of [
        ['client', client],
        ['server', server],
      ] as const) {
        const final = statsOf(connection)
        expect(final.datagramsReceived).toBeGreaterThanOrEqual(after[side].datagramsReceived)
        expect(final.datagramsSent).toBeGreaterThanOrEqual(after[side].datagramsSent)
        // the final values stay put once closed
        expect(statsOf(connection)).toEqual(final)
      }
    })
  })
}

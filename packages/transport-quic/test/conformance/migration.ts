import type { Identity } from '@peer/identity'
import { beforeAll, expect } from 'vitest'
import { identities } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function migrationScenarios(kit: Kit): void {
  const { pool } = kit
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })

  // quinn (inside @chainsafe/libp2p-quic) disables migration in its server config
  kit.itIf(kit.lacks('server', 'migration'))(
    'keeps the connection when the client reappears on a new UDP port (passive migration)',
    async () => {
      const { client, server, listener, relay } = await pool.pairThroughRelay(a, b, {
        upstreamHost: '127.0.0.1',
      })
      try {
        const before = relay.upstreamPort
        expect(server.remoteAddress.port).toBe(before)

        const ch = await client.openChannel()
        await ch.send(Buffer.from('one'))
        const peer = await server.acceptChannel()
        expect(Buffer.from((await peer.receive())!).toString()).toBe('one')

        const after = await relay.rebind()
        expect(after).not.toBe(before)
        // traffic in both directions after the rebinding, on the same connection and channel
        for (let i = 0; i < 20; i++) {
          await ch.send(Buffer.from(`after ${i}`))
          expect(Buffer.from((await peer.receive())!).toString()).toBe(`after ${i}`)
          await peer.send(Buffer.from(`reply ${i}`))
          expect(Buffer.from((await ch.receive())!).toString()).toBe(`reply ${i}`)
        }
        expect(server.remoteAddress.port).toBe(after)
        expect(client.isClosed || server.isClosed).toBe(false)
        expect(listener.connections).toHaveLength(1)
      } finally {
        await relay.close()
      }
    },
  )
}

// Addressing across engines: the spellings of one address a user or a discovery record may give
// (IPv4-mapped IPv6, bracketed IPv6, `localhost` in any case) reach the same listener whichever
// engine dials and whichever listens, and a zoned IPv6 address is refused the same way. Before the
// transport spelled hosts for the engines, these differed by engine (`[::1]` failed on both,
// `::ffff:127.0.0.1` timed out on quinn, quinn refused `LOCALHOST`, matrixai could take `localhost`
// as ::1): a new engine, or a new version of one, must not differ silently again.
import type { Identity } from '@peer/identity'
import { beforeAll, describe, expect, it } from 'vitest'
import { TransportError } from '../../src/index.js'
import { identities } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function addressingScenarios(kit: Kit): void {
  const { pool } = kit
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })

  describe('addressing', () => {
    it('every spelling of a loopback address reaches the listener, on IPv4 and IPv6', async () => {
      const server = pool.server(a)
      const client = pool.client(b)
      const v4 = await server.listen({ host: 'LocalHost', port: 0 })
      const v6 = await server.listen({ host: '[::1]', port: 0 })
      expect(v4.address.host).toBe('127.0.0.1')
      expect(v6.address.host).toBe('::1')
      const spellings: Array<[string, number]> = [
        ['127.0.0.1', v4.address.port],
        ['localhost', v4.address.port],
        ['LOCALHOST', v4.address.port],
        ['::ffff:127.0.0.1', v4.address.port],
        ['[::ffff:127.0.0.1]', v4.address.port],
        ['::ffff:7f00:1', v4.address.port],
        ['::1', v6.address.port],
        ['[::1]', v6.address.port],
      ]
      for (const [host, port] of spellings) {
        const connection = await client.dial({ host, port }, { expectedId: a.id })
        expect(connection.remoteId, host).toBe(a.id)
        await connection.close()
      }
    })

    it('a zoned IPv6 address is refused at once with the reason, to dial and to listen', async () => {
      const server = pool.server(a)
      const client = pool.client(b)
      const reason = /an IPv6 address with a zone \(link-local\) is not supported/
      const dial = await client.dial({ host: 'fe80::1%lo', port: 4000 }, { expectedId: a.id }).catch((e) => e)
      expect(dial).toBeInstanceOf(TransportError)
      expect(dial.message).toMatch(reason)
      const listen = await server.listen({ host: 'fe80::1%lo', port: 0 }).catch((e) => e)
      expect(listen).toBeInstanceOf(TransportError)
      expect(listen.message).toMatch(reason)
    })
  })
}

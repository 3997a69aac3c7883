// What `dial` and `listen` do with a host before the engine sees it (names are resolved inside a
// namespace with its own hosts file: netns.test.ts; nothing here sends a packet or a query).
import { generateIdentity } from '@peer/identity'
import { describe, expect, it } from 'vitest'
import { createTransport, TransportError } from '../src/index.js'
import { resolveAddress } from '../src/resolve-host.js'

describe('resolveAddress', () => {
  it('passes IP literals and localhost in the spelling both engines take', async () => {
    for (const host of ['127.0.0.1', '::1', '10.0.0.7', 'fd00::7']) {
      const address = { host, port: 4000 }
      expect(await resolveAddress(address, 1000, undefined)).toBe(address)
    }
    // before: `[::1]` failed on both engines, `::ffff:127.0.0.1` timed out on quinn, quinn refused
    // `LOCALHOST`, and matrixai looked `localhost` up (which may give ::1)
    for (const [host, spelled] of [
      ['[::1]', '::1'],
      ['[fd00::7]', 'fd00::7'],
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['::FFFF:10.1.2.3', '10.1.2.3'],
      ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
      ['::ffff:7f00:1', '127.0.0.1'],
      ['[::ffff:127.0.0.1]', '127.0.0.1'],
      ['localhost', '127.0.0.1'],
      ['LOCALHOST', '127.0.0.1'],
    ] as const) {
      expect(await resolveAddress({ host, port: 4000 }, 1000, undefined), host).toEqual({
        host: spelled,
        port: 4000,
      })
    }
  })

  it('dial takes those spellings on the engine this run uses (loopback)', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const server = createTransport({ identity: a, trust: () => true })
    const client = createTransport({ identity: b, trust: () => true })
    try {
      const v4 = await server.listen({ host: '127.0.0.1', port: 0 })
      const v6 = await server.listen({ host: '[::1]', port: 0 })
      expect(v6.address.host).toBe('::1')
      for (const [host, port] of [
        ['::ffff:127.0.0.1', v4.address.port],
        ['LOCALHOST', v4.address.port],
        ['[::1]', v6.address.port],
      ] as const) {
        const connection = await client.dial({ host, port }, { expectedId: a.id })
        expect(connection.remoteId, host).toBe(a.id)
        await connection.close()
      }
    } finally {
      await client.close()
      await server.close()
    }
  })

  it('refuses an IPv6 address with a zone at once, saying why (neither engine takes one)', async () => {
    const error = await resolveAddress({ host: 'fe80::1%eth0', port: 4000 }, 1000, undefined).catch((e) => e)
    expect(error).toBeInstanceOf(TransportError)
    expect(error.message).toBe(
      'cannot use fe80::1%eth0: an IPv6 address with a zone (link-local) is not supported by the QUIC engines; use IPv4 or a global or unique-local IPv6 address',
    )
  })

  it('so does dial, on the engine this run uses', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const transport = createTransport({ identity: a, trust: () => true })
    try {
      await expect(
        transport.dial({ host: 'fe80::1%eth0', port: 4000 }, { expectedId: b.id }),
      ).rejects.toThrow(/an IPv6 address with a zone \(link-local\) is not supported/)
    } finally {
      await transport.close()
    }
  })
})

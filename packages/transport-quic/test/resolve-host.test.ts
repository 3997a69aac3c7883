// What `dial` and `listen` do with a host before the engine sees it (names are resolved inside a
// namespace with its own hosts file: netns.test.ts; nothing here sends a packet or a query).
import { generateIdentity } from '@peer/identity'
import { describe, expect, it } from 'vitest'
import { createTransport, TransportError } from '../src/index.js'
import { resolveAddress } from '../src/resolve-host.js'

describe('resolveAddress', () => {
  it('passes IP literals and localhost as they are', async () => {
    for (const host of ['127.0.0.1', '::1', '[::1]', '10.0.0.7', 'localhost', 'LOCALHOST']) {
      const address = { host, port: 4000 }
      expect(await resolveAddress(address, 1000, undefined)).toBe(address)
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

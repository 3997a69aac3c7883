import { createSocket } from 'node:dgram'
import { inTestNetns } from '@peer/testkit/netns'
import { describe, expect, it } from 'vitest'
import { MdnsDiscovery } from '../src/index.js'

describe('root namespace guard (test setup file)', () => {
  it('is active in the test process, which runs in the root namespace', () => {
    expect(inTestNetns()).toBe(false)
    expect((globalThis as { __peerRootMulticastGuard?: boolean }).__peerRootMulticastGuard).toBe(true)
  })

  it('makes an MdnsDiscovery started in the test process fail instead of multicasting', async () => {
    // never run this without the guard: it would multicast on the host's network
    if ((globalThis as { __peerRootMulticastGuard?: boolean }).__peerRootMulticastGuard !== true) {
      throw new Error('root namespace guard is not installed')
    }
    const mdns = new MdnsDiscovery()
    const errors: Error[] = []
    mdns.addEventListener('discovery:error', (e) => errors.push(e.detail.error))
    await mdns.start()
    try {
      // every interface failed to open its socket: none is in use, each was reported once
      expect(mdns.interfaceNames).toEqual([])
      expect(errors.length).toBeGreaterThan(0)
      expect(errors.every((e) => /root network namespace/.test(e.message))).toBe(true)
    } finally {
      await mdns.stop()
    }
  })

  it('refuses a plain multicast socket too', async () => {
    const s = createSocket('udp4')
    try {
      expect(() => s.bind(5353)).toThrow(/root network namespace/)
      expect(() => s.addMembership('224.0.0.251')).toThrow(/root network namespace/)
    } finally {
      s.close()
    }
  })
})

// The compliance kit against MdnsDiscovery instances living in a child process inside a fresh
// network namespace (multicast over that namespace's loopback), driven through proxies. The test
// process stays in the root namespace, where the guard makes any mDNS socket throw.
import '@peer/testkit/root-namespace-guard'
import { fileURLToPath } from 'node:url'
import type { DiscoveryHarness } from '@peer/discovery-compliance'
import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import type { LocalPeer } from '@peer/discovery-core'
import { createNetns, type Netns } from '@peer/testkit/netns'
import { type BackendHost, type RemoteBackend, spawnBackendHost } from '@peer/testkit/remote-backend'

/** The child that hosts MdnsDiscovery instances. */
const MDNS_HOST = fileURLToPath(new URL('../fixtures/mdns-host.ts', import.meta.url))

/** A bad datagram: too short to be a DNS header. */
const TRUNCATED_PACKET = Buffer.from([0x00, 0x00, 0x84, 0x00, 0x00])

/**
 * All instances in one child, in one fresh namespace, talking over its loopback. Short TTLs so
 * expiry-based checks are quick.
 */
function mdnsHarness(): DiscoveryHarness<RemoteBackend> {
  let ns: Netns | undefined
  let host: BackendHost | undefined
  return {
    propagationTimeoutMs: 5000,
    async setup({ selves }: { count: number; selves: readonly LocalPeer[] }) {
      ns = await createNetns({ label: 'mdns-kit' })
      host = await spawnBackendHost(MDNS_HOST, { netns: ns.name })
      const out: RemoteBackend[] = []
      for (const self of selves) out.push(await host.create({ self: self.id, ttl: 10 }))
      return out
    },
    async seedInvalid() {
      await host!.child.call('sendRaw', { packets: [TRUNCATED_PACKET.toString('base64')] })
    },
    async teardown() {
      await host?.close()
      await ns?.delete()
      host = undefined
      ns = undefined
    },
  }
}

describeDiscoveryCompliance('mdns (in a network namespace)', () => mdnsHarness(), {
  capabilities: ['announce', 'list', 'watch', 'expiry'],
})

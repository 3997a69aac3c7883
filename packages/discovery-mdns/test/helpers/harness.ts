// Test helpers: MdnsDiscovery instances living in child processes inside network namespaces the
// test creates, driven through RemoteBackend proxies.
import { fileURLToPath } from 'node:url'
import { createNetns, type Netns } from '@peer/testkit/netns'
import { type BackendHost, type RemoteBackend, spawnBackendHost } from '@peer/testkit/remote-backend'
import { afterAll, beforeAll } from 'vitest'
import type { MdnsDiscoveryOptions, MdnsStats } from '../../src/index.js'

/** The child that hosts MdnsDiscovery instances. */
export const MDNS_HOST = fileURLToPath(new URL('../fixtures/mdns-host.ts', import.meta.url))

/** JSON-safe options (interface matchers as strings only). */
export type RemoteMdnsOptions = Omit<MdnsDiscoveryOptions, 'logger' | 'interfaceSource'>

/** Starts a host child in `netns`. */
export function startHost(netns: Netns | string): Promise<BackendHost> {
  return spawnBackendHost(MDNS_HOST, { netns: typeof netns === 'string' ? netns : netns.name })
}

/**
 * For a describe block: a fresh namespace and a host child in it before all tests (handed to
 * `use`), both gone after all tests.
 */
export function hostInNamespace(label: string, use: (host: BackendHost) => void): void {
  let ns: Netns | undefined
  let host: BackendHost | undefined
  beforeAll(async () => {
    ns = await createNetns({ label })
    host = await startHost(ns)
    use(host)
  })
  afterAll(async () => {
    await host?.close()
    await ns?.delete()
  })
}

/** Creates a remote MdnsDiscovery in `host`. */
export function createRemote(host: BackendHost, options: RemoteMdnsOptions = {}): Promise<RemoteBackend> {
  return host.create(options as Record<string, unknown>)
}

/** mDNS counters of a remote instance. */
export function mdnsStats(b: RemoteBackend): Promise<MdnsStats> {
  return b.extra<MdnsStats>('mdnsStats')
}

/** A bad datagram: too short to be a DNS header. */
export const TRUNCATED_PACKET = Buffer.from([0x00, 0x00, 0x84, 0x00, 0x00])

// Shared helpers for the etcd tests: nodes with valid ids, backends that are always stopped.
import type { LocalPeer } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { afterEach } from 'vitest'
import { EtcdDiscovery, type EtcdDiscoveryOptions } from '../src/index.js'

let counter = 0

/** A unique key prefix per test, so tests sharing one etcd never see each other. */
export function uniquePrefix(label = 't'): string {
  return `/peer-test-${process.pid}-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

/** A node to announce. */
export function node(label: string, port = 4000, extra: Partial<LocalPeer> = {}): LocalPeer {
  return {
    id: testId(`${label}-${process.pid}-${counter}`),
    name: `${label}@host-${label}`,
    addresses: [{ host: '127.0.0.1', port }],
    ...extra,
  }
}

const live = new Set<EtcdDiscovery>()

/** An `EtcdDiscovery` with test-friendly defaults (1 s TTL), stopped after each test. */
export function backend(options: EtcdDiscoveryOptions): EtcdDiscovery {
  const b = new EtcdDiscovery({ ttl: 1, requestTimeoutMs: 2000, ...options })
  live.add(b)
  return b
}

/** Stops every backend made by {@link backend} (also done after each test). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((b) => b.stop()))
  live.clear()
}

afterEach(stopAll)

/** The lease id (hex, as etcdctl wants it) a key is attached to, from `etcdctl get -w json`. */
export function leaseOf(json: string): string | undefined {
  // lease ids are int64: read them as digit strings, never as JS numbers
  const match = /"lease":(\d+)/.exec(json)
  return match ? BigInt(match[1]!).toString(16) : undefined
}

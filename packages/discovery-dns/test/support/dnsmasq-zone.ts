// One real dnsmasq (started by @peer/testkit) for all the tests of a file, serving `DOMAIN` with
// TTL 0: after each test the backends made with `backend()` are stopped and the zone is emptied.
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { DnsDiscovery } from '../../src/index.js'
import { DOMAIN, fastBackend } from './fixtures.js'

/** See {@link useDnsmasq}. */
export interface DnsmasqZone {
  /** The running dnsmasq (set in `beforeAll`). */
  readonly server: DnsmasqServer
  /** A backend on the dnsmasq with short timings (stopped after the test). */
  backend(overrides?: Parameters<typeof fastBackend>[1]): DnsDiscovery
}

/** For a test file: starts one dnsmasq before all its tests, cleans up after each and after all. */
export function useDnsmasq(): DnsmasqZone {
  let server: DnsmasqServer | undefined
  const backends: DnsDiscovery[] = []

  beforeAll(async () => {
    server = await startDnsmasq({ domain: DOMAIN, ttl: 0 })
  })

  afterAll(async () => {
    await server?.stop()
  })

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.stop()))
    await server!.update((z) => {
      z.srv = {}
      z.txt = {}
      z.hosts = {}
      z.cname = {}
    })
  })

  const started = (): DnsmasqServer => {
    if (server === undefined) throw new Error('dnsmasq is not started (use it inside tests)')
    return server
  }

  return {
    get server() {
      return started()
    },
    backend(overrides = {}) {
      const b = fastBackend(started().address, { minTtl: 0.1, timeoutMs: 300, attempts: 2, ...overrides })
      backends.push(b)
      return b
    },
  }
}

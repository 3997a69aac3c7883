// Issue 12 item 10: after an outage the peers come back within one TTL of the server answering
// again (retries are capped at the last good answer's lifetime, not maxTtl), and peers are lost as
// stale at staleAfter, not at the next retry. Bounds below are derived from the configured TTL,
// staleAfter and retry delays, with generous slack for a loaded machine.
import type { PeerLostDetail } from '@peer/discovery-core'
import { nextEvent } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DnsDiscovery } from '../src/index.js'
import { type Dns2TestServer, startDns2Server } from './support/dns2-server.js'
import { fastBackend, peerZone, SERVICE } from './support/fixtures.js'

let server: Dns2TestServer
let backend: DnsDiscovery | undefined
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Scheduling slack on a shared, loaded machine. */
const SLACK_MS = 1500

beforeEach(async () => {
  server = await startDns2Server()
  server.defaultTtl = 1
})

afterEach(async () => {
  await backend?.stop()
  backend = undefined
  await server.close()
})

/** Time of the last SRV query the server answered before `before`. */
function lastSrvQueryBefore(before: number): number {
  const q = server.queries.filter((x) => x.name === SERVICE && x.type === 'SRV' && x.at < before)
  return q.at(-1)!.at
}

describe('recovery after a SERVFAIL outage', () => {
  it('finds what changed within one TTL of the server answering again, however long the outage', async () => {
    const a = peerZone('steady')
    server.records = a.records
    // retries would back off to maxTtl (30 s): 0.2, 0.4, 0.8, 1.6, 3.2, 6.4 s ...
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 200,
      staleAfterMs: 120000,
      attempts: 1,
    })
    await backend.start()
    expect((await backend.list()).map((r) => r.id)).toEqual([a.id])
    server.faults.set('*', 'servfail')
    const failures = backend.dnsStats.failedPolls
    // long enough for the uncapped backoff to reach 6.4 s between retries
    await sleep(7000)
    expect(backend.dnsStats.failedPolls - failures).toBeGreaterThanOrEqual(3)
    const b = peerZone('newcomer')
    server.records = [...a.records, ...b.records]
    const found = nextEvent(backend, 'peer:discovered', (e) => e.detail.record.id === b.id, 30_000)
    const healedAt = Date.now()
    server.faults.delete('*')
    await found
    // the retry cap is the last good answer's lifetime: 1 s TTL
    expect(Date.now() - healedAt).toBeLessThanOrEqual(1000 + SLACK_MS)
    expect((await backend.list()).map((r) => r.id).sort()).toEqual([a.id, b.id].sort())
  }, 60_000)

  it('an explicit maxRetryDelayMs caps the retries', async () => {
    const a = peerZone('capped')
    server.records = a.records
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 200,
      maxRetryDelayMs: 300,
      staleAfterMs: 120000,
      attempts: 1,
    })
    await backend.start()
    server.faults.set('*', 'servfail')
    const failures = backend.dnsStats.failedPolls
    await sleep(4000)
    // 0.2 + 0.3 + 0.3 ... : at least 8 retries in 4 s (uncapped: 4 at most)
    expect(backend.dnsStats.failedPolls - failures).toBeGreaterThanOrEqual(8)
  }, 30_000)

  it('loses peers as stale at staleAfter, not at the next retry', async () => {
    const a = peerZone('fading')
    server.records = a.records
    // retries every 5 s: the next retry after staleAfter (2 s) comes at about 6 s
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 5000,
      staleAfterMs: 2000,
      attempts: 1,
    })
    await backend.start()
    const lost = nextEvent<CustomEvent<PeerLostDetail>>(
      backend,
      'peer:lost',
      (e) => e.detail.record.id === a.id,
      30_000,
    )
    const faultAt = Date.now()
    server.faults.set('*', 'servfail')
    const event = await lost
    const lostAt = Date.now()
    expect(event.detail.reason).toBe('stale')
    // last confirmed after its last good SRV answer, and lost staleAfter later: not before
    expect(lostAt - lastSrvQueryBefore(faultAt)).toBeGreaterThanOrEqual(2000 - 5)
    // ...and not at the next retry (about 6 s after the fault)
    expect(lostAt - faultAt).toBeLessThanOrEqual(2000 + SLACK_MS)
  }, 60_000)
})

// Issue 12 item 10: after an outage the peers come back within one TTL of the server answering
// again (retries are capped at the last good answer's lifetime, not maxTtl), and peers are lost as
// stale at staleAfter, not at the next retry. The tests read the retry delays the backend chose
// (its debug log) rather than time them, and keep the wrong path's delays out of the waits' reach.
import type { PeerLostDetail } from '@peer/discovery-core'
import { type LogRecord, recordingLogger } from '@peer/testkit/recording-logger'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DnsDiscovery } from '../src/index.js'
import { type Dns2TestServer, startDns2Server } from './support/dns2-server.js'
import { fastBackend, peerZone, SERVICE } from './support/fixtures.js'

let server: Dns2TestServer
let backend: DnsDiscovery | undefined

/** The delays (ms) the backend chose before each retry after a failed poll, in order. */
const retryDelays = (records: readonly LogRecord[]) =>
  records.filter((r) => r.message === 'service query failed').map((r) => r.fields?.retryInMs as number)

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
    const { factory: logger, records } = recordingLogger()
    // retries would back off to maxTtl (30 s): 0.2, 0.4, 0.8, 1.6, 3.2, 6.4 s ...
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 200,
      staleAfterMs: 120000,
      attempts: 1,
      logger,
    })
    await backend.start()
    expect((await backend.list()).map((r) => r.id)).toEqual([a.id])
    server.faults.set('*', 'servfail')
    const failures = backend.dnsStats.failedPolls
    // long enough for the uncapped backoff to reach 6.4 s between retries
    await waitFor(() => backend!.dnsStats.failedPolls - failures >= 6, {
      timeoutMs: 60_000,
      what: 'six failed polls',
    })
    const b = peerZone('newcomer')
    server.records = [...a.records, ...b.records]
    const found = nextEvent(backend, 'peer:discovered', (e) => e.detail.record.id === b.id, 60_000)
    server.faults.delete('*')
    await found
    // the retry cap is the last good answer's lifetime (at most its 1 s TTL): every retry, the one
    // that met the healed server too, came at most a TTL after the failure before it
    const delays = retryDelays(records)
    expect(delays.length).toBeGreaterThanOrEqual(6)
    for (const ms of delays) expect(ms).toBeLessThanOrEqual(1000)
    expect((await backend.list()).map((r) => r.id).sort()).toEqual([a.id, b.id].sort())
  }, 120_000)

  it('an explicit maxRetryDelayMs caps the retries', async () => {
    const a = peerZone('capped')
    server.records = a.records
    // failing from the start: no good answer caps the retries, only maxRetryDelayMs (else maxTtl)
    server.faults.set('*', 'servfail')
    const { factory: logger, records } = recordingLogger()
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 200,
      maxRetryDelayMs: 300,
      staleAfterMs: 120000,
      attempts: 1,
      logger,
    })
    await backend.start()
    await waitFor(() => backend!.dnsStats.failedPolls >= 8, { timeoutMs: 60_000, what: 'eight failed polls' })
    // 0.2, then 0.3 s (uncapped: 0.4, 0.8, 1.6 ... 12.8 s)
    expect(retryDelays(records).slice(0, 8)).toEqual([200, 300, 300, 300, 300, 300, 300, 300])
  }, 120_000)

  it('loses peers as stale at staleAfter, not at the next retry', async () => {
    const a = peerZone('fading')
    server.records = a.records
    // the first retry after the failed poll comes 600 s later, out of the test's reach: only the
    // stale timer can lose the peer (at staleAfter, 2 s after its last good answer)
    backend = fastBackend(server.address, {
      maxTtlMs: 30000,
      retryDelayMs: 600_000,
      staleAfterMs: 2000,
      attempts: 1,
    })
    await backend.start()
    const lost = nextEvent<CustomEvent<PeerLostDetail>>(
      backend,
      'peer:lost',
      (e) => e.detail.record.id === a.id,
      60_000,
    )
    const faultAt = Date.now()
    server.faults.set('*', 'servfail')
    const event = await lost
    const lostAt = Date.now()
    expect(event.detail.reason).toBe('stale')
    // last confirmed after its last good SRV answer, and lost staleAfter later: not before
    expect(lostAt - lastSrvQueryBefore(faultAt)).toBeGreaterThanOrEqual(2000 - 5)
    // ...and not at a retry: none came (only the poll due at the TTL may have failed)
    expect(backend.dnsStats.failedPolls).toBeLessThanOrEqual(1)
  }, 120_000)
})

// Issue 12 item 1: a resolver with no route (ENETUNREACH; EADDRNOTAVAIL for IPv6 without an
// address) used to let `send` run on a socket whose `connect` had failed, and the resulting
// RangeError [ERR_SOCKET_BAD_PORT] killed the process. The route is made to fail only inside a
// network namespace this test creates (its `lo` is down, without addresses), pointed at 127.0.0.1 / [::1].
import { fileURLToPath } from 'node:url'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { createNetns, type Netns } from '@peer/testkit/netns'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHILD = fileURLToPath(new URL('./support/unroutable-child.ts', import.meta.url))

describe('an unroutable resolver', () => {
  let ns: Netns
  let child: RpcChild | undefined
  beforeAll(async () => {
    ns = await createNetns({ label: 'dns-unroute', loopbackMulticast: false })
    // as in a fresh namespace: lo down and without addresses, so there is no route at all
    await ns.ip(['link', 'set', 'lo', 'down'])
    await ns.ip(['addr', 'flush', 'dev', 'lo'])
  })
  afterAll(async () => {
    await child?.close()
    await ns?.delete()
  })

  it('fails a query with DnsNetworkError (ENETUNREACH / EADDRNOTAVAIL), never an uncaught exception', async () => {
    child = await spawnChild(CHILD, { netns: ns.name })
    for (const [resolver, code] of [
      ['127.0.0.1:53', 'ENETUNREACH'],
      ['[::1]:53', 'EADDRNOTAVAIL'],
    ] as const) {
      const result = await child.call<{
        ok: boolean
        name: string
        causes: Array<{ name: string; cause?: string }>
        stats: { networkErrors: number; udpSockets: number; timeouts: number }
      }>('query', { resolver })
      expect(result.ok).toBe(false)
      expect(result.name).toBe('DnsQueryFailedError')
      expect(result.causes).toHaveLength(2)
      for (const c of result.causes) {
        expect(c.name).toBe('DnsNetworkError')
        expect(c.cause).toContain(code)
      }
      // a failed socket is replaced: each attempt opened its own, and none timed out
      expect(result.stats).toMatchObject({ networkErrors: 2, udpSockets: 2, timeouts: 0 })
    }
    expect(child.exitStatus).toBeUndefined()
  }, 60_000)

  it('keeps DnsDiscovery polling: every failed poll is a discovery:error and a retry', async () => {
    await child?.close()
    child = await spawnChild(CHILD, { netns: ns.name })
    const errors: Array<{ name: string; message: string }> = []
    child.addEventListener('discovery-error', (e) => errors.push((e as CustomEvent).detail))
    await child.call('start', { resolvers: ['127.0.0.1:53', '[::1]:53'] })
    await waitFor(() => errors.length >= 5, { timeoutMs: 30_000, what: '5 discovery:error events' })
    const stats = await child.call<{ polls: number; failedPolls: number }>('stats')
    expect(stats.failedPolls).toBeGreaterThanOrEqual(5)
    expect(errors[0]!.name).toBe('DnsQueryFailedError')
    expect(errors[0]!.message).toMatch(/ENETUNREACH/)
    expect(errors[0]!.message).toMatch(/EADDRNOTAVAIL/)
    expect(child.exitStatus).toBeUndefined()
  }, 60_000)
})

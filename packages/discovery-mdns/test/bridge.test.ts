// Three namespaces on a bridge (the bridge itself in a fourth namespace), IPv4 and IPv6: every
// node discovers the two others with their own addresses (never loopback), keeps them while they
// live (refresh queries before the TTL runs out), and loses a node killed with -9 once its
// records expire.
import { testId } from '@peer/testkit/ids'
import { type BridgeTopology, createBridgeTopology } from '@peer/testkit/netns'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRemote, mdnsStats, startHost } from './helpers/harness.js'

// Refresh queries go out from 80% of the TTL: a live peer is lost only when a query and its answer
// both come later than the last 20% of the TTL (2 s here, not the 0.6 s of a 3 s TTL)
const TTL = 10

describe('three namespaces on a bridge', () => {
  let topo: BridgeTopology
  const hosts: BackendHost[] = []
  const nodes: RemoteBackend[] = []
  const selves = [0, 1, 2].map((i) => ({
    id: testId(`bridge-${i}`),
    name: `node${i}@bridge`,
    addresses: [{ host: '0.0.0.0', port: 5000 + i }],
  }))
  beforeAll(async () => {
    topo = await createBridgeTopology({ count: 3, ipv6: true, label: 'mdns-br' })
    hosts.push(...(await Promise.all(topo.nodes.map((n) => startHost(n.ns)))))
    for (const [i, host] of hosts.entries())
      nodes.push(await createRemote(host, { self: selves[i]!.id, ttl: TTL }))
  }, 60_000)
  afterAll(async () => {
    await Promise.allSettled(hosts.map((h) => h.close()))
    await topo?.destroy()
  })

  it('every node discovers the others with their interface addresses, IPv4 and IPv6, never loopback', async () => {
    const recs = nodes.map((n) => recordEvents(n, ['peer:discovered', 'peer:lost']))
    await Promise.all(nodes.map((n) => n.start()))
    await Promise.all(nodes.map((n, i) => n.announce(selves[i]!)))
    for (const [i, node] of nodes.entries()) {
      await waitFor(async () => (await node.list()).length === 2, {
        timeoutMs: 8000,
        what: `node ${i} to see 2 peers`,
      })
      const peers = await node.list()
      expect(peers.map((p) => p.id).sort()).toEqual(
        selves
          .filter((_, j) => j !== i)
          .map((s) => s.id)
          .sort(),
      )
      for (const peer of peers) {
        const j = selves.findIndex((s) => s.id === peer.id)
        const hostsOf = peer.addresses.map((a) => a.host)
        expect(hostsOf[0]).toBe(topo.nodes[j]!.ipv4)
        expect(hostsOf).toContain(topo.nodes[j]!.ipv6)
        expect(hostsOf.some((h) => h.startsWith('fe80::') && h.endsWith('%eth0'))).toBe(true)
        expect(hostsOf).not.toContain('127.0.0.1')
        expect(hostsOf).not.toContain('::1')
        expect(peer.addresses.every((a) => a.port === 5000 + j)).toBe(true)
        expect(peer.name).toBe(`node${j}@bridge`)
      }
      expect(
        recs[i]!.events.filter((e) => (e.detail as { record: { id: string } }).record.id === selves[i]!.id),
      ).toEqual([])
    }
  }, 30_000)

  it('keeps live peers past their TTL (refresh queries) and loses a node killed with -9 when its records expire', async () => {
    const rec0 = recordEvents(nodes[0]!, ['peer:lost'])
    // live for two TTLs: refresh queries at 80-95% of the TTL keep the records
    await new Promise((r) => setTimeout(r, TTL * 2000 + 500))
    expect(rec0.of('peer:lost')).toEqual([])
    await hosts[2]!.child.crash()
    // 6 TTLs: generous, and still half the default TTL (120 s) that an ignored `ttl` would leave
    // the records with; `expired` says the TTL ended them (not a goodbye)
    await waitFor(() => rec0.of('peer:lost').length > 0, {
      timeoutMs: 60_000,
      what: 'peer:lost after kill -9',
    })
    const lost = rec0.of('peer:lost')[0]!.detail as { record: { id: string }; reason: string }
    expect(lost.record.id).toBe(selves[2]!.id)
    expect(lost.reason).toBe('expired')
    expect((await nodes[0]!.list()).map((p) => p.id)).toEqual([selves[1]!.id])
    const stats = await mdnsStats(nodes[0]!)
    expect(stats.packetsReceived).toBeGreaterThan(0)
  }, 120_000)

  it('an IPv6-only node is found over ff02::fb and announces AAAA records only', async () => {
    const host = await startHost(topo.nodes[2]!.ns)
    hosts.push(host)
    const v6 = await createRemote(host, { ttl: 10, interfaces: { ipv4: false } })
    await v6.start()
    const me = { id: testId('v6-only'), name: 'v6@bridge', addresses: [{ host: '::', port: 6000 }] }
    const rec = recordEvents(nodes[0]!, ['peer:discovered'])
    await v6.announce(me)
    await waitFor(() => rec.of('peer:discovered').length > 0, {
      timeoutMs: 8000,
      what: 'IPv6-only node discovered',
    })
    const { record } = rec.of('peer:discovered')[0]!.detail as {
      record: { id: string; addresses: Array<{ host: string }> }
    }
    expect(record.id).toBe(me.id)
    expect(record.addresses.map((a) => a.host)).toContain(topo.nodes[2]!.ipv6)
    expect(record.addresses.every((a) => a.host.includes(':'))).toBe(true)
    // and it discovers the IPv4+IPv6 nodes too
    await waitFor(async () => (await v6.list()).length >= 2, {
      timeoutMs: 8000,
      what: 'IPv6-only node sees the others',
    })
  }, 30_000)
})

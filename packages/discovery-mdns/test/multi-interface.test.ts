// A node with several interfaces: it answers on each interface with that interface's addresses
// only, follows interfaces that appear and disappear, and honours allow/deny lists.
//
//   ns B (10.61.1.2) --eth0/eth1-- ns A --eth2/eth0-- ns C (10.61.2.2)
//                                    \--eth3/eth0-- ns D (10.61.3.2, link added and removed at run time)
import { testId } from '@peer/testkit/ids'
import { connectVeth, createNetns, type Netns } from '@peer/testkit/netns'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRemote, startHost } from './helpers/harness.js'

const self = (label: string, port: number) => ({
  id: testId(`multi-${label}`),
  name: `${label}@multi`,
  addresses: [{ host: '0.0.0.0', port }],
})
const ipv4Hosts = (peer: { addresses: ReadonlyArray<{ host: string }> } | undefined) =>
  (peer?.addresses ?? []).map((a) => a.host).filter((h) => !h.includes(':'))

describe('multi-interface node', () => {
  let nsA: Netns
  let nsB: Netns
  let nsC: Netns
  let nsD: Netns
  const hosts: BackendHost[] = []
  let a: RemoteBackend
  let b: RemoteBackend
  let c: RemoteBackend
  const A = self('a', 7001)
  const B = self('b', 7002)
  const C = self('c', 7003)
  const D = self('d', 7004)
  const opts = { ttl: 3, interfacePollIntervalMs: 200 }

  beforeAll(async () => {
    const made = await Promise.all(['a', 'b', 'c', 'd'].map((l) => createNetns({ label: `multi-${l}` })))
    ;[nsA, nsB, nsC, nsD] = made as [Netns, Netns, Netns, Netns]
    await connectVeth(
      { ns: nsA!, name: 'eth1', addresses: ['10.61.1.1/24'] },
      { ns: nsB!, addresses: ['10.61.1.2/24'] },
    )
    await connectVeth(
      { ns: nsA!, name: 'eth2', addresses: ['10.61.2.1/24'] },
      { ns: nsC!, addresses: ['10.61.2.2/24'] },
    )
    const [hA, hB, hC] = await Promise.all([startHost(nsA!), startHost(nsB!), startHost(nsC!)])
    hosts.push(hA, hB, hC)
    a = await createRemote(hA, { ...opts, self: A.id })
    b = await createRemote(hB, { ...opts, self: B.id })
    c = await createRemote(hC, { ...opts, self: C.id })
    await Promise.all([a, b, c].map((n) => n.start()))
    await Promise.all([a.announce(A), b.announce(B), c.announce(C)])
  }, 60_000)
  afterAll(async () => {
    await Promise.allSettled(hosts.map((h) => h.close()))
    await Promise.allSettled([nsA, nsB, nsC, nsD].map((n) => n?.delete()))
  })

  it('answers on each interface with that interface addresses only', async () => {
    await waitFor(async () => (await b.lookup(A.id)) && (await c.lookup(A.id)), {
      timeoutMs: 8000,
      what: 'A seen by B and C',
    })
    expect(ipv4Hosts(await b.lookup(A.id))).toEqual(['10.61.1.1'])
    expect(ipv4Hosts(await c.lookup(A.id))).toEqual(['10.61.2.1'])
    // link-local IPv6 addresses carry the interface they were learned on
    for (const h of (await b.lookup(A.id))!.addresses.map((x) => x.host).filter((x) => x.includes(':'))) {
      expect(h).toMatch(/^fe80::.*%eth0$/)
    }
    await waitFor(async () => (await a.list()).length === 2, { timeoutMs: 8000, what: 'A sees B and C' })
    expect(ipv4Hosts(await a.lookup(B.id))).toEqual(['10.61.1.2'])
    expect(ipv4Hosts(await a.lookup(C.id))).toEqual(['10.61.2.2'])
    // B and C are on different links: they never see each other
    expect(await b.lookup(C.id)).toBeUndefined()
    expect(await c.lookup(B.id)).toBeUndefined()
  }, 20_000)

  it('re-announces when an interface address is added or removed', async () => {
    const rec = recordEvents(b, ['peer:updated', 'peer:lost'])
    await nsA.ip(['addr', 'add', '10.61.1.10/24', 'dev', 'eth1'])
    await waitFor(async () => ipv4Hosts(await b.lookup(A.id)).includes('10.61.1.10'), {
      timeoutMs: 5000,
      what: 'B sees the added address',
    })
    expect(ipv4Hosts(await b.lookup(A.id)).sort()).toEqual(['10.61.1.1', '10.61.1.10'])
    await nsA.ip(['addr', 'del', '10.61.1.10/24', 'dev', 'eth1'])
    // a goodbye for the removed address: gone well before its TTL
    await waitFor(async () => !ipv4Hosts(await b.lookup(A.id)).includes('10.61.1.10'), {
      timeoutMs: 2500,
      what: 'B drops the removed address',
    })
    expect(ipv4Hosts(await b.lookup(A.id))).toEqual(['10.61.1.1'])
    expect(rec.of('peer:updated').length).toBeGreaterThanOrEqual(2)
    expect(rec.of('peer:lost')).toEqual([])
  }, 20_000)

  it('follows an interface that appears and then disappears', async () => {
    const hD = await startHost(nsD)
    hosts.push(hD)
    const d = await createRemote(hD, { ...opts, self: D.id })
    await d.start()
    await d.announce(D)
    const recA = recordEvents(a, ['peer:discovered', 'peer:lost'])
    const recD = recordEvents(d, ['peer:discovered', 'peer:lost'])
    await connectVeth(
      { ns: nsA, name: 'eth3', addresses: ['10.61.3.1/24'] },
      { ns: nsD, addresses: ['10.61.3.2/24'] },
    )
    // A notices eth3 (interface poll), announces there and browses there
    await waitFor(() => recD.of('peer:discovered').length > 0, {
      timeoutMs: 8000,
      what: 'D discovers A over the new link',
    })
    expect(
      ipv4Hosts(
        (recD.of('peer:discovered')[0]!.detail as { record: { addresses: Array<{ host: string }> } }).record,
      ),
    ).toEqual(['10.61.3.1'])
    await waitFor(() => recA.of('peer:discovered').length > 0, { timeoutMs: 8000, what: 'A discovers D' })
    // the link goes away (both veth ends): each side drops what it learned there at once
    await nsA.ip(['link', 'del', 'eth3'])
    await waitFor(() => recA.of('peer:lost').length > 0, {
      timeoutMs: 4000,
      what: 'A loses D when eth3 goes',
    })
    expect((recA.of('peer:lost')[0]!.detail as { reason: string; record: { id: string } }).record.id).toBe(
      D.id,
    )
    expect((recA.of('peer:lost')[0]!.detail as { reason: string }).reason).toBe('unreachable')
    await waitFor(() => recD.of('peer:lost').length > 0, {
      timeoutMs: 4000,
      what: 'D loses A when its eth0 goes',
    })
    expect((recD.of('peer:lost')[0]!.detail as { reason: string }).reason).toBe('unreachable')
    // A still has B and C
    expect((await a.list()).map((p) => p.id).sort()).toEqual([B.id, C.id].sort())
  }, 30_000)

  it('honours interface allow and deny lists', async () => {
    const E = self('e', 7005)
    const F = self('f', 7006)
    const e = await createRemote(hosts[0]!, { ...opts, self: E.id, interfaces: { deny: ['eth2'] } })
    const f = await createRemote(hosts[0]!, { ...opts, self: F.id, interfaces: { allow: ['eth2'] } })
    await Promise.all([e.start(), f.start()])
    expect(await e.extra('interfaceNames')).toEqual(['eth1'])
    expect(await f.extra('interfaceNames')).toEqual(['eth2'])
    await Promise.all([e.announce(E), f.announce(F)])
    await waitFor(async () => (await b.lookup(E.id)) && (await c.lookup(F.id)), {
      timeoutMs: 8000,
      what: 'E on eth1, F on eth2',
    })
    await new Promise((r) => setTimeout(r, 1500))
    expect(await c.lookup(E.id)).toBeUndefined()
    expect(await b.lookup(F.id)).toBeUndefined()
    await Promise.all([e.stop(), f.stop()])
  }, 20_000)

  it('does not publish a node that announces only loopback addresses where no peer could reach it', async () => {
    // a node listening on 127.0.0.1: its interfaces' addresses used to be published in its name,
    // where nothing listens (its peers' dials timed out)
    const L = { id: testId('multi-l'), name: 'l@multi', addresses: [{ host: '127.0.0.1', port: 7007 }] }
    const M = self('m', 7008)
    const l = await createRemote(hosts[0]!, { ...opts, self: L.id })
    const m = await createRemote(hosts[0]!, { ...opts, self: M.id })
    await Promise.all([l.start(), m.start()])
    await l.announce(L)
    await m.announce(M) // after L: once B has M, it has everything L sent before
    await waitFor(async () => (await b.lookup(M.id)) && (await c.lookup(M.id)), {
      timeoutMs: 8000,
      what: 'M (published after L) on eth1 and eth2',
    })
    expect(await b.lookup(L.id)).toBeUndefined()
    expect(await c.lookup(L.id)).toBeUndefined()
    const said = await l.extra<string[]>('warnings')
    expect(said).toEqual([
      expect.stringMatching(
        /^this node announces only loopback addresses, so it is not published on the interfaces where no peer could reach it: listen on 0\.0\.0\.0 .*"addresses":\["127\.0\.0\.1:7007"\],"interfaces":\["eth1","eth2"\]/,
      ),
    ])
    expect(await m.extra<string[]>('warnings')).toEqual([])
    await Promise.all([l.stop(), m.stop()])
  }, 20_000)
})

// Protocol behaviour seen on the wire, in a fresh namespace: probing and conflict renaming,
// known-answer suppression, browse back-off, goodbye on stop, updates on re-announce.
import { testId } from '@peer/testkit/ids'
import { createNetns, type Netns } from '@peer/testkit/netns'
import type { BackendHost } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRemote, mdnsStats, startHost } from './helpers/harness.js'
import { sniff } from './helpers/packets.js'

interface Seen {
  t: number
  type: string
  questions: string[]
  answers: string[]
  known: number
}

describe('mDNS protocol behaviour', () => {
  let ns: Netns
  let host: BackendHost
  beforeEach(async () => {
    ns = await createNetns({ label: 'mdns-proto' })
    host = await startHost(ns)
  })
  afterEach(async () => {
    await host?.close()
    await ns?.delete()
  })

  it('probes, and renames the second node that wants a taken name', async () => {
    const [a, b, watcher] = [await createRemote(host), await createRemote(host), await createRemote(host)]
    await Promise.all([a.start(), b.start(), watcher.start()])
    const same = (label: string) => ({
      id: testId(label),
      name: 'twin@box',
      addresses: [{ host: '0.0.0.0', port: 4100 }],
    })
    await a.announce(same('twin-a'))
    expect(await a.extra('instanceName')).toBe('twin@box')
    await b.announce(same('twin-b'))
    expect(await b.extra('instanceName')).toBe('twin@box (2)')
    expect((await mdnsStats(b)).conflicts).toBe(1)
    expect((await mdnsStats(a)).conflicts).toBe(0)
    await waitFor(async () => (await watcher.list()).length === 2, { what: 'both twins discovered' })
  })

  it('announces what was announced before start, and again after a restart', async () => {
    const [node, watcher] = [await createRemote(host), await createRemote(host)]
    const me = { id: testId('early'), name: 'early@box', addresses: [{ host: '0.0.0.0', port: 4150 }] }
    await node.announce(me)
    await watcher.start()
    const rec = recordEvents(watcher, ['peer:discovered', 'peer:lost'])
    await node.start()
    await waitFor(() => rec.of('peer:discovered').length === 1, { what: 'discovered after start' })
    await node.stop()
    await waitFor(() => rec.of('peer:lost').length === 1, { what: 'lost after stop' })
    await node.start()
    await waitFor(() => rec.of('peer:discovered').length === 2, { what: 'discovered again after restart' })
    expect(await node.extra('instanceName')).toBe('early@box')
  })

  it('goes back to probing, and renames, when another host claims its announced name', async () => {
    const node = await createRemote(host)
    await node.start()
    await node.announce({
      id: testId('claimed'),
      name: 'claimed@box',
      addresses: [{ host: '0.0.0.0', port: 4160 }],
    })
    expect(await node.extra('instanceName')).toBe('claimed@box')
    // a host that does not probe keeps answering for the same instance name with other data
    const instance = 'claimed@box._peer._udp.local'
    const impostor = {
      type: 'response',
      answers: [
        {
          name: instance,
          type: 'SRV',
          ttl: 120,
          flush: true,
          data: { target: 'impostor.local', port: 9, priority: 0, weight: 0 },
        },
        { name: 'impostor.local', type: 'A', ttl: 120, flush: true, data: '127.0.0.7' },
      ],
    }
    const started = Date.now()
    while (Date.now() - started < 2500 && (await node.extra('instanceName')) === 'claimed@box') {
      await host.child.call('sendPacket', { packet: impostor })
      await new Promise((r) => setTimeout(r, 150))
    }
    await waitFor(async () => (await node.extra('instanceName')) === 'claimed@box (2)', { what: 'renamed' })
    expect((await mdnsStats(node)).conflicts).toBe(1)
  })

  it('reports a socket that cannot open once, and retries it on the next interface poll', async () => {
    await host.child.call('holdPort', { ms: 1500 })
    const [node, peer] = [
      await createRemote(host, { interfacePollIntervalMs: 200 }),
      await createRemote(host),
    ]
    const rec = recordEvents(node, ['discovery:error', 'peer:discovered'])
    await node.start()
    await new Promise((r) => setTimeout(r, 1000))
    expect(rec.of('discovery:error')).toHaveLength(1)
    expect(
      (rec.of('discovery:error')[0]!.detail as { error: { name: string; message: string } }).error,
    ).toMatchObject({
      name: 'MdnsSocketError',
      message: expect.stringMatching(/^mDNS socket on lo: .*EADDRINUSE/),
    })
    await waitFor(async () => (await node.extra<string[]>('interfaceNames')).length === 1, {
      what: 'socket opened',
    })
    await peer.start()
    await peer.announce({
      id: testId('retry'),
      name: 'retry@box',
      addresses: [{ host: '0.0.0.0', port: 4170 }],
    })
    await waitFor(() => rec.of('peer:discovered').length === 1, { what: 'discovery after the retry' })
    expect(rec.of('discovery:error')).toHaveLength(1)
  })

  it('does not answer a query that already lists the answer (known-answer suppression)', async () => {
    // one announcement only: a second one (due 1 s after the first) that load delays would put the
    // answer below inside the one-second multicast rate limit, and it would never be sent
    const node = await createRemote(host, { ttl: 60, announcements: 1 })
    await node.start()
    await node.announce({ id: testId('kas'), name: 'kas@box', addresses: [{ host: '0.0.0.0', port: 4200 }] })
    // past the one-second multicast rate limit after the announcement (sent when announce() resolves)
    await new Promise((r) => setTimeout(r, 2300))
    const query = (known: boolean) =>
      host.child.call('sendPacket', {
        packet: {
          type: 'query',
          questions: [{ name: '_peer._udp.local', type: 'PTR' }],
          answers: known
            ? [{ name: '_peer._udp.local', type: 'PTR', ttl: 4000, data: 'kas@box._peer._udp.local' }]
            : [],
        },
      })
    const before = (await mdnsStats(node)).queriesAnswered
    await query(true)
    await new Promise((r) => setTimeout(r, 300))
    expect((await mdnsStats(node)).queriesAnswered).toBe(before)
    expect((await mdnsStats(node)).rateLimited).toBe(0)
    await query(false)
    // generous: when broken, the answer never comes
    await waitFor(async () => (await mdnsStats(node)).queriesAnswered === before + 1, {
      timeoutMs: 30_000,
      what: 'answer without known answer',
    })
  })

  it('answers a legacy unicast query (source port not 5353) by unicast, with its id, the question and TTL <= 10', async () => {
    const node = await createRemote(host, { ttl: 120 })
    await node.start()
    await node.announce({
      id: testId('legacy'),
      name: 'legacy@box',
      addresses: [{ host: '0.0.0.0', port: 4400 }],
    })
    const replies = await host.child.call<Array<Record<string, unknown>>>('legacyQuery', {
      name: 'legacy@box._peer._udp.local',
      type: 'SRV',
      ms: 500,
    })
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({
      id: 0x1234,
      type: 'response',
      questions: [{ name: 'legacy@box._peer._udp.local', type: 'SRV' }],
    })
    const answers = replies[0]!.answers as Array<{ name: string; type: string; ttl: number; flush: boolean }>
    expect(answers).toEqual([{ name: 'legacy@box._peer._udp.local', type: 'SRV', ttl: 10, flush: false }])
  })

  it('does not repeat a PTR query another host just asked (duplicate question suppression)', async () => {
    const foreignQuery = () =>
      host.child.call('sendPacket', {
        packet: { type: 'query', questions: [{ name: '_peer._udp.local', type: 'PTR' }] },
      })
    // another host asks every 100 ms; the node's own browse queries (about 0.1, 1.1, 3.1, 7.1 s
    // after its start, then doubling) are skipped while its question is under a second old. Waited
    // for by the counter, not timed: a tick that a stalled loop let through is simply not counted
    let asking = true
    const loop = (async () => {
      while (asking) {
        await foreignQuery()
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const node = await createRemote(host)
    try {
      await new Promise((r) => setTimeout(r, 100))
      await node.start()
      await waitFor(async () => (await mdnsStats(node)).queriesSuppressed >= 2, {
        timeoutMs: 60_000,
        what: 'two own queries suppressed',
      })
      // a suppressed query is not sent: the node sent at most its first query (possibly before it
      // heard the other host) and one more that a stall let through
      const asked = await mdnsStats(node)
      expect(asked.packetsSent).toBeLessThanOrEqual(2)
    } finally {
      asking = false
      await loop
    }
    // once the other host is quiet, the node asks itself again at its next tick
    const quiet = (await mdnsStats(node)).packetsSent
    await waitFor(async () => (await mdnsStats(node)).packetsSent > quiet, {
      timeoutMs: 60_000,
      what: 'own query',
    })
  })

  it('leaves no timers, sockets or handles in its process after stop', async () => {
    const count = (list: string[]) => {
      const m: Record<string, number> = {}
      for (const t of list.sort()) m[t] = (m[t] ?? 0) + 1
      return m
    }
    const before = count(await host.child.call<string[]>('activeResources'))
    const [node, watcher] = [await createRemote(host), await createRemote(host)]
    await Promise.all([node.start(), watcher.start()])
    const rec = recordEvents(watcher, ['peer:discovered'])
    await node.announce({
      id: testId('leak'),
      name: 'leak@box',
      addresses: [{ host: '0.0.0.0', port: 4500 }],
    })
    await waitFor(() => rec.of('peer:discovered').length > 0, { what: 'discovered' })
    await node.withdraw()
    await Promise.all([node.stop(), watcher.stop()])
    await waitFor(
      async () =>
        JSON.stringify(count(await host.child.call<string[]>('activeResources'))) === JSON.stringify(before),
      {
        timeoutMs: 3000,
        what: 'the same active resources as before start',
      },
    )
  })

  it('browses with a doubling interval', async () => {
    // queries at ~0.1 s, ~1.1 s, ~3.1 s and ~7.1 s after start: 1, 2 and 4 s apart
    const sniffer = await sniff(host)
    const node = await createRemote(host)
    await node.start()
    const browses = async () =>
      (await sniffer.read()).filter(
        (p) =>
          p.type === 'query' && p.questions.some((q) => q.name === '_peer._udp.local' && q.type === 'PTR'),
      )
    const queries = await waitFor(
      async () => {
        const seen = await browses()
        return seen.length >= 4 ? seen : undefined
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'four browse queries' },
    )
    await sniffer.stop()
    const gaps = queries.slice(1, 4).map((q, i) => q.t - queries[i]!.t)
    // lower bounds only (RFC 6762 section 5.2: at least 1 s, then at least doubling): a timer never
    // fires early, so load only lengthens a gap. A quarter of each gap is left for the sniffer
    // reading a datagram late; a fixed 1 s interval fails the second, one that doubles once the third.
    expect(gaps[0]).toBeGreaterThan(750)
    expect(gaps[1]).toBeGreaterThan(1500)
    expect(gaps[2]).toBeGreaterThan(3000)
  }, 90_000)

  it('says goodbye on stop, and an update of meta is a peer:updated', async () => {
    const [node, watcher] = [await createRemote(host), await createRemote(host)]
    await Promise.all([node.start(), watcher.start()])
    const rec = recordEvents(watcher, ['peer:discovered', 'peer:updated', 'peer:lost'])
    const me = {
      id: testId('bye'),
      name: 'bye@box',
      addresses: [{ host: '0.0.0.0', port: 4300 }],
      meta: { v: '1' },
    }
    await node.announce(me)
    await waitFor(() => rec.of('peer:discovered').length === 1, { what: 'discovered' })
    await node.announce({ ...me, meta: { v: '2' } })
    await waitFor(() => rec.of('peer:updated').length > 0, { what: 'updated' })
    expect((rec.of('peer:updated')[0]!.detail as { record: { meta: unknown } }).record.meta).toEqual({
      v: '2',
    })
    const sniff = host.child.call<Seen[]>('sniff', { ms: 400 })
    await new Promise((r) => setTimeout(r, 50))
    await node.stop()
    const goodbyes = (await sniff).filter(
      (p) => p.type === 'response' && p.answers.length > 0 && p.answers.every((a) => a.endsWith('/0')),
    )
    expect(goodbyes.length).toBeGreaterThan(0)
    expect(goodbyes[0]!.answers).toContain('_peer._udp.local/PTR/0')
    await waitFor(() => rec.of('peer:lost').length > 0, { what: 'lost after stop' })
    expect((rec.of('peer:lost')[0]!.detail as { reason: string }).reason).toBe('withdrawn')
    expect(rec.of('peer:discovered').length).toBe(1)
  })
})

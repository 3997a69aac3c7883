// The on-demand policy, release without redial, and the connection cap, over real QUIC on loopback.
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { ConnectionCapError, NotAMemberError, PeerRegistry } from '@peer/registry'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { introduce, quicNodesPerTest } from './helpers/quic-node.js'

const { node } = quicNodesPerTest()

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('PeerRegistry: on-demand', () => {
  it('rejects a bad policy or cap with a ConfigError', async () => {
    const self = (await generateIdentity()).id
    const base = { self, transport: { dial: async () => ({}) as never }, trust: () => true }
    expect(() => new PeerRegistry({ ...base, connect: 'lazy' as never })).toThrow(ConfigError)
    expect(() => new PeerRegistry({ ...base, maxConnections: 0 })).toThrow(ConfigError)
    expect(() => new PeerRegistry({ ...base, maxConnections: 1.5 })).toThrow(ConfigError)
  })

  it('records a discovered member without dialing; ensureConnected dials once for concurrent callers', async () => {
    const a = await node({ registry: { connect: 'on-demand' } })
    const b = await node()
    b.trust.add(a.id)
    const member = nextEvent<CustomEvent>(a.registry, 'peer:member')
    introduce(a, b)
    expect((await member).detail).toMatchObject({ id: b.id, source: 'manual' })
    expect(a.dialer.dials).toEqual([])
    expect(a.registry.status(b.id)?.state).toBe('idle')
    const conns = await Promise.all([1, 2, 3].map(() => a.registry.ensureConnected(b.id)))
    expect(new Set(conns).size).toBe(1)
    expect(a.dialer.dials).toHaveLength(1)
    expect(await a.registry.ensureConnected(b.id)).toBe(conns[0])
    await expect(a.registry.ensureConnected((await generateIdentity()).id)).rejects.toBeInstanceOf(
      NotAMemberError,
    )
  })

  it('a connection lost with on-demand is not redialed; the next ensureConnected dials', async () => {
    const a = await node({ registry: { connect: 'on-demand' } })
    const b = await node()
    b.trust.add(a.id)
    introduce(a, b)
    await waitFor(() => a.registry.status(b.id) !== undefined)
    const conn = await a.registry.ensureConnected(b.id)
    const down = nextEvent<CustomEvent>(a.registry, 'peer:disconnected')
    await conn.close('bye')
    await down
    await sleep(300) // a redial (backoff 50 ms) would show up well within it
    expect(a.dialer.dials).toHaveLength(1)
    expect(a.registry.status(b.id)?.state).toBe('idle')
    await a.registry.ensureConnected(b.id)
    expect(a.dialer.dials).toHaveLength(2)
  })

  it('release(): peer:disconnected at once, and a mesh peer that receives it does not redial', async () => {
    const a = await node()
    const b = await node()
    introduce(a, b)
    introduce(b, a)
    await waitFor(
      () => a.registry.connection(b.id) !== undefined && b.registry.connection(a.id) !== undefined,
    )
    await sleep(100)
    const dials = a.dialer.dials.length + b.dialer.dials.length
    const events = recordEvents(b.registry, ['peer:disconnected'])
    expect(a.registry.release(b.id, 'idle')).toBe(true)
    expect(a.registry.connection(b.id)).toBeUndefined()
    expect(a.registry.stats.released).toBe(1)
    await waitFor(() => events.events.length === 1, { what: 'b sees the release' })
    expect(events.events[0]!.detail).toMatchObject({ id: a.id, reason: 'idle' })
    await sleep(300)
    expect(a.dialer.dials.length + b.dialer.dials.length).toBe(dials)
    // a discovery update does not redial a released member either
    const updated = nextEvent(a.discovery, 'peer:updated')
    a.manual!.announcePeer(b.id, [b.address, { host: '127.0.0.1', port: 9 }])
    await updated
    await sleep(100)
    expect(a.dialer.dials.length + b.dialer.dials.length).toBe(dials)
    expect(a.registry.connection(b.id)).toBeUndefined()
    // a use does
    await a.registry.ensureConnected(b.id)
  })

  it('over maxConnections: evicts what evictIdle names, or refuses (inbound counted, dial rejected)', async () => {
    let victim: string | undefined
    const a = await node({ registry: { connect: 'on-demand', maxConnections: 1, evictIdle: () => victim } })
    const b = await node()
    const c = await node({ registry: { connect: 'on-demand' } })
    b.trust.add(a.id)
    c.trust.add(a.id)
    introduce(a, b)
    introduce(a, c)
    introduce(c, a)
    await waitFor(() => a.registry.status(c.id) !== undefined && a.registry.status(b.id) !== undefined)
    await a.registry.ensureConnected(b.id)
    // nothing to evict: our dial is refused before it starts, an inbound one is closed and counted
    await expect(a.registry.ensureConnected(c.id)).rejects.toThrow(new ConnectionCapError(1).message)
    const closed = await c.registry.ensureConnected(a.id).then((conn) => conn.closed)
    expect(closed).toMatchObject({ reason: 'connection cap' })
    expect(a.registry.stats.refusedOverCap).toBe(1)
    // an idle one to evict: b is released with reason evicted
    victim = b.id
    const evicted = nextEvent<CustomEvent>(a.registry, 'peer:disconnected')
    await a.registry.ensureConnected(c.id)
    expect((await evicted).detail).toMatchObject({ id: b.id, reason: 'evicted' })
    expect(a.registry.stats.evictions).toBe(1)
    expect(a.registry.connectedIds()).toEqual([c.id])
  })
})

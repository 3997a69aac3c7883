import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryNetwork } from './helpers/memory-network.js'
import { introduce, makeNode, runCleanups, startedPair } from './helpers/registry-nodes.js'

afterEach(runCleanups)

describe('PeerRegistry: simultaneous dials', () => {
  it('two nodes dialing each other end with exactly one connection, the same on both sides', async () => {
    for (let round = 0; round < 20; round++) {
      const net = new MemoryNetwork()
      net.latency = () => Math.floor(Math.random() * 5)
      const a = await makeNode(net, `a${round}`)
      const b = await makeNode(net, `b${round}`)
      await Promise.all([a.registry.start(), b.registry.start()])
      a.trust.add(b.id)
      b.trust.add(a.id)
      // both learn of each other at the same moment
      a.backend.announcePeer(b.id, [b.address])
      b.backend.announcePeer(a.id, [a.address])
      await waitFor(() => {
        const ab = a.registry.connection(b.id)
        const ba = b.registry.connection(a.id)
        return ab !== undefined && ba !== undefined && ab.other === ba && net.open().length === 2
      })
      await new Promise((r) => setTimeout(r, 30))
      const ab = a.registry.connection(b.id)!
      expect(ab.other).toBe(b.registry.connection(a.id))
      expect(net.open()).toHaveLength(2)
      // the survivor was dialed by the lower id
      const dialer = ab.direction === 'outbound' ? a.id : b.id
      expect(dialer).toBe(a.id < b.id ? a.id : b.id)
      await Promise.all([a.registry.stop(), b.registry.stop()])
    }
  })

  it('an inbound connection long after the live one replaces it (the remote lost it)', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { simultaneousWindowMs: 20 })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    introduce(a, b)
    const old = await waitFor(() => a.registry.connection(b.id))
    await new Promise((r) => setTimeout(r, 40))
    const events = recordEvents(a.registry, [
      'peer:disconnected',
      'peer:connected',
      'peer:connection-replaced',
    ])
    const fresh = await b.transport.dial(a.address, { expectedId: a.id })
    expect(a.registry.connection(b.id)!.other).toBe(fresh)
    expect(old.isClosed).toBe(true)
    expect(events.events.map((e) => e.type)).toEqual(['peer:connection-replaced'])
    expect(events.events[0]!.detail).toMatchObject({
      id: b.id,
      direction: 'inbound',
      connection: fresh.other,
      previous: old,
    })
    expect(a.registry.stats).toMatchObject({ duplicatesClosed: 1, replaced: 1 })
  })
})

describe('PeerRegistry: an inbound connection while our dial hangs', () => {
  it('wins over our dial once its attempt is stale (the peer restarted, or our path to it is down)', async () => {
    const net = new MemoryNetwork()
    const [x, y] = [await makeNode(net, 'x', { dialTimeoutMs: 600_000 }), await makeNode(net, 'y')]
    // `low` wins ties: its dial, while fresh, beats the peer's inbound
    const [low, high] = x.id < y.id ? [x, y] : [y, x]
    await low.registry.start()
    // `low` knows `high` only at an address that never answers: its dial hangs
    const dead = { host: '127.0.0.1', port: 1 }
    net.blackholes.add(`${dead.host}:${dead.port}`)
    low.trust.add(high.id)
    low.backend.announcePeer(high.id, [dead])
    await waitFor(() => low.registry.status(high.id)?.state === 'dialing')
    // the attempt turns stale (a fresh one wins the tie: see arbitration.test.ts and the
    // simultaneous dials above); the inbound is then adopted and our dial given up
    await new Promise((r) => setTimeout(r, 300))
    const events = recordEvents(low.registry, ['peer:connected'])
    const late = await high.transport.dial(low.address, { expectedId: low.id })
    expect(low.registry.connection(high.id)?.other).toBe(late)
    expect(events.of('peer:connected')[0]?.detail).toMatchObject({ id: high.id, direction: 'inbound' })
    expect(low.registry.status(high.id)?.state).toBe('connected')
    expect(late.isClosed).toBe(false)
  })
})

describe('PeerRegistry: simultaneous dials on a loaded event loop', () => {
  it('keeps the lower id dial on both sides when both attempts committed long before they resolved', async () => {
    // each side's dial is committed (the peer may hand it out) at once, handed to the peer's
    // registry 300 ms later and resolved at the dialer 600 ms later: when the inbound arrives,
    // our attempt is older than the stale threshold (250 ms) but committed, and the peer (the
    // higher id) has adopted it and given up its own dial. Giving ours up for the inbound left
    // each side with a connection the other had closed: the bench's dial storms lost first
    // requests this way.
    const net = new MemoryNetwork()
    net.handDelay = () => 300
    net.resolveDelay = () => 600
    const [x, y] = [await makeNode(net, 'x'), await makeNode(net, 'y')]
    const [low, high] = x.id < y.id ? [x, y] : [y, x]
    await Promise.all([low.registry.start(), high.registry.start()])
    const lowEvents = recordEvents(low.registry, ['peer:disconnected', 'peer:dial-failed'])
    const highEvents = recordEvents(high.registry, ['peer:disconnected', 'peer:dial-failed'])
    introduce(low, high)
    introduce(high, low)
    // both connected, on the two halves of one connection, and the lower id's dial is over
    await waitFor(() => {
      const mine = low.registry.connection(high.id)
      return (
        mine !== undefined &&
        !mine.isClosed &&
        mine.other === high.registry.connection(low.id) &&
        low.registry.status(high.id)?.state === 'connected' &&
        low.transport.dialed.length > 0 &&
        net.inFlight === 0
      )
    })
    expect(low.registry.connection(high.id)?.direction).toBe('outbound')
    expect(lowEvents.events.map((e) => e.type)).toEqual([])
    expect(highEvents.events.map((e) => e.type)).toEqual([])
    expect(low.registry.stats).toMatchObject({ dials: 1, dialFailures: 0, connects: 1 })
    expect(high.registry.stats).toMatchObject({ connects: 1, disconnects: 0 })
  })
})

describe('PeerRegistry: expectInbound (a listener promising to keep a connection)', () => {
  it('promises only when nothing of ours competes, and holds our dials until the inbound arrives', async () => {
    const { a, b } = await startedPair()
    let settle = (_: boolean) => {}
    const confirmed = new Promise<boolean>((resolve) => {
      settle = resolve
    })
    a.trust.add(b.id)
    expect(a.registry.expectInbound(b.id, confirmed)).toBe(true)
    // a discovers b meanwhile: its dial waits (queued), none starts
    a.backend.announcePeer(b.id, [b.address])
    await waitFor(() => a.registry.status(b.id)?.state === 'queued')
    expect(a.registry.expectInbound(b.id, confirmed)).toBe(false) // a dial is wanted now
    await new Promise((r) => setTimeout(r, 30))
    expect(a.transport.dialed).toHaveLength(0)
    // the promised connection arrives: adopted, the held dial never runs
    await b.registry.start()
    introduce(b, a)
    await waitFor(() => a.registry.status(b.id)?.state === 'connected')
    settle(true)
    expect(a.registry.status(b.id)?.direction).toBe('inbound')
    await new Promise((r) => setTimeout(r, 30))
    expect(a.transport.dialed).toHaveLength(0)
    expect(a.registry.expectInbound(b.id, confirmed)).toBe(false) // connected
  })

  it('a promise that ends without the connection lets the held dial run', async () => {
    const { a, b } = await startedPair()
    let settle = (_: boolean) => {}
    a.trust.add(b.id)
    expect(
      a.registry.expectInbound(
        b.id,
        new Promise<boolean>((resolve) => {
          settle = resolve
        }),
      ),
    ).toBe(true)
    a.backend.announcePeer(b.id, [b.address])
    await waitFor(() => a.registry.status(b.id)?.state === 'queued')
    expect(a.transport.dialed).toHaveLength(0)
    settle(false)
    await waitFor(() => a.registry.status(b.id)?.state === 'connected')
    expect(a.registry.status(b.id)?.direction).toBe('outbound')
    expect(a.transport.dialed).toHaveLength(1)
  })

  it('no promise for an untrusted peer, a dial in flight, or a stopped registry', async () => {
    const { net, a, b } = await startedPair()
    const never = new Promise<boolean>(() => {})
    expect(a.registry.expectInbound(b.id, never)).toBe(false) // not trusted
    expect(a.registry.expectInbound('not an id', never)).toBe(false)
    expect(a.registry.expectInbound(a.id, never)).toBe(false)
    net.blackholes.add(`${b.address.host}:${b.address.port}`)
    introduce(a, b)
    await waitFor(() => a.registry.status(b.id)?.state === 'dialing')
    expect(a.registry.expectInbound(b.id, never)).toBe(false)
    await a.registry.stop()
    expect(a.registry.expectInbound(b.id, never)).toBe(false)
  })
})

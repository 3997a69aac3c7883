import { TrustList } from '@peer/identity'
import { testId } from '@peer/testkit/ids'
import { manualDiscovery } from '@peer/testkit/manual-discovery'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerRegistry, RegistryConfigError } from '../src/index.js'
import { MemoryNetwork } from './helpers/memory-network.js'
import { cleanups, introduce, makeNode, runCleanups, startedPair } from './helpers/registry-nodes.js'

afterEach(runCleanups)

describe('PeerRegistry: status, bounds and lifecycle', () => {
  it('bounds the peer map', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { maxPeers: 3 })
    await a.registry.start()
    for (let i = 0; i < 5; i++) {
      const id = testId(`many-${i}`)
      a.trust.add(id)
      a.backend.announcePeer(id, [{ host: '127.0.0.1', port: 1 + i }])
    }
    expect(a.registry.size).toBe(3)
    expect(a.registry.stats.overflowDrops).toBe(2)
    // an inbound connection from a fourth trusted peer is refused too
    const b = await makeNode(net, 'b')
    a.trust.add(b.id)
    const conn = await b.transport.dial(a.address, { expectedId: a.id })
    expect(conn.closeReason).toBe('registry full')
  })

  it('bounds the addresses kept per peer', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { maxAddressesPerPeer: 2 })
    await a.registry.start()
    const id = testId('addr')
    a.trust.add(id)
    a.backend.announcePeer(
      id,
      [1, 2, 3, 4].map((port) => ({ host: '127.0.0.1', port })),
    )
    expect(a.registry.status(id)!.addresses).toHaveLength(2)
  })

  it('reports addresses with every source that reports the peer', async () => {
    const net = new MemoryNetwork()
    const { discovery, backends } = await manualDiscovery(['static', 'mdns'])
    cleanups.push(() => discovery.stop())
    const id = testId('self-src')
    const trust = new TrustList([testId('x')])
    const registry = new PeerRegistry({ self: id, transport: net.transport(id), trust, discovery })
    cleanups.push(() => registry.stop())
    await registry.start()
    backends[0]!.announcePeer(testId('x'), [{ host: '127.0.0.1', port: 1 }], { name: 'x@host' })
    backends[1]!.announcePeer(testId('x'), [{ host: '127.0.0.1', port: 1 }])
    const status = registry.status(testId('x'))!
    expect(status.name).toBe('x@host')
    expect(status.addresses[0]!.sources).toEqual(['static', 'mdns'])
  })

  it('dials peers discovery knew before start', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    introduce(a, b)
    await a.registry.start()
    await waitFor(() => a.registry.connection(b.id))
  })

  it('stop closes every connection with reason shutdown and forgets every peer', async () => {
    const { net, a, b } = await startedPair()
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id))
    const events = recordEvents(a.registry, ['peer:disconnected'])
    await a.registry.stop()
    expect(events.events.map((e) => e.detail)).toEqual([
      { id: b.id, reason: 'shutdown', direction: 'outbound' },
    ])
    expect(a.registry.size).toBe(0)
    expect(net.open()).toEqual([])
    // stopped: nothing is dialed or accepted any more
    a.backend.announcePeer(b.id, [b.address, { host: '127.0.0.1', port: 2 }])
    expect(a.registry.size).toBe(0)
    const conn = await b.transport.dial(a.address, { expectedId: a.id })
    expect(a.registry.accept(conn.other)).toBe(false)
    expect(conn.closeReason).toBe('shutdown')
    await a.registry.stop() // idempotent
  })

  it('validates its options', () => {
    const net = new MemoryNetwork()
    const self = testId('opts')
    const transport = net.transport(self)
    const trust = new TrustList()
    expect(() => new PeerRegistry({ self: 'nope', transport, trust })).toThrow(/node id/)
    expect(() => new PeerRegistry({ self, transport, trust, maxPeers: 0 })).toThrow(RegistryConfigError)
    expect(() => new PeerRegistry({ self, transport, trust, maxConcurrentDials: 1.5 })).toThrow(
      RegistryConfigError,
    )
    expect(() => new PeerRegistry({ self, transport: {} as never, trust })).toThrow(RegistryConfigError)
    expect(() => new PeerRegistry({ self, transport, trust: {} as never })).toThrow(RegistryConfigError)
  })

  it('a throwing listener does not break the registry', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    a.registry.addEventListener('peer:connected', () => {
      throw new Error('boom')
    })
    await a.registry.start()
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id))
    expect(a.registry.stats.listenerErrors).toBe(1)
  })
})

describe('PeerRegistry: stalled connections', () => {
  it('probeStalled dials afresh and replaces the stalled connection with the new one', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    // b answers as a plain server: it keeps both connections (a stalled one never hears b's close)
    const b = await makeNode(net, 'b')
    await a.registry.start()
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected')
    introduce(a, b)
    await connected
    const stalled = a.registry.connection(b.id)!
    const replaced = nextEvent<CustomEvent>(a.registry, 'peer:connection-replaced')
    expect(await a.registry.probeStalled(b.id)).toBe(true)
    const detail = (await replaced).detail
    expect(detail).toMatchObject({ id: b.id, direction: 'outbound', previous: stalled })
    expect(a.registry.connection(b.id)).toBe(detail.connection)
    expect(detail.connection).not.toBe(stalled)
    expect(await stalled.closed).toMatchObject({ reason: 'stalled' })
    expect(a.registry.stats).toMatchObject({ stallProbes: 1, stallReplacements: 1 })
    expect(a.registry.status(b.id)).toMatchObject({ state: 'connected' })
  })

  it('stops probing and keeps the connection when the signal aborts (the connection recovered)', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { dialTimeoutMs: 60_000 })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    await b.registry.start()
    b.trust.add(a.id)
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected')
    introduce(a, b)
    await connected
    const stalled = a.registry.connection(b.id)!
    net.blackholes.add(`${b.address.host}:${b.address.port}`)
    const recovered = new AbortController()
    const probing = a.registry.probeStalled(b.id, { signal: recovered.signal })
    await waitFor(() => a.transport.dialed.length >= 2, { what: 'a probe in flight' })
    // one probe per peer at a time
    expect(await a.registry.probeStalled(b.id)).toBe(false)
    recovered.abort()
    expect(await probing).toBe(false)
    expect(a.registry.connection(b.id)).toBe(stalled)
    expect(a.registry.stats).toMatchObject({ stallProbes: 1, stallReplacements: 0 })
  })

  it('probeStalled does nothing for a peer without a known address or connection', async () => {
    const { a, b } = await startedPair()
    await b.registry.start()
    b.trust.add(a.id)
    const inbound = nextEvent<CustomEvent>(b.registry, 'peer:connected')
    introduce(a, b)
    await inbound
    // b only accepted a's connection: it knows no address of a
    expect(await b.registry.probeStalled(a.id)).toBe(false)
    expect(await b.registry.probeStalled(testId('nobody'))).toBe(false)
    expect(b.registry.stats.stallProbes).toBe(0)
  })
})

// The peer registry's rules over an in-process transport (fast and deterministic). The same rules
// run over real QUIC in quic-peer-registry.test.ts.
import { getEventListeners } from 'node:events'
import type { Discovery, PeerAddress } from '@peer/discovery-core'
import { TrustList } from '@peer/identity'
import { testId } from '@peer/testkit/ids'
import { type ManualBackend, manualDiscovery } from '@peer/testkit/manual-discovery'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { warningsDuring, warningsNamed } from '@peer/testkit/warnings'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DialTimeoutError,
  PeerIdMismatchError,
  PeerRegistry,
  type PeerRegistryOptions,
  RegistryConfigError,
} from '../src/index.js'
import { MemoryConnection, MemoryNetwork } from './helpers/memory-network.js'

interface TestNode {
  id: string
  address: PeerAddress
  trust: TrustList
  discovery: Discovery
  backend: ManualBackend
  registry: PeerRegistry<MemoryConnection>
  transport: ReturnType<MemoryNetwork['transport']>
  stopListening: () => void
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

let portCounter = 20000
const FAST = { initialDelayMs: 20, maxDelayMs: 200 }

async function makeNode(
  net: MemoryNetwork,
  label: string,
  options: Partial<PeerRegistryOptions<MemoryConnection>> = {},
): Promise<TestNode> {
  const id = testId(`${label}-${portCounter}`)
  const address = { host: '127.0.0.1', port: portCounter++ }
  const trust = new TrustList()
  const { discovery, backend } = await manualDiscovery()
  const transport = net.transport(id)
  const registry = new PeerRegistry<MemoryConnection>({
    self: id,
    transport,
    trust,
    discovery,
    backoff: FAST,
    dialTimeoutMs: 1000,
    ...options,
  })
  // a node whose registry is not started answers like a plain server: it keeps the connection
  const onConnection = (c: MemoryConnection) => {
    if (registry.started) registry.accept(c)
  }
  const stopListening = net.listen(id, address, onConnection)
  const node = { id, address, trust, discovery, backend, registry, transport, stopListening }
  cleanups.push(async () => {
    stopListening()
    await registry.stop()
    await discovery.stop()
  })
  return node
}

/** Two nodes `a` and `b` on a fresh network, `a`'s registry started (`b`'s not). */
async function startedPair(): Promise<{ net: MemoryNetwork; a: TestNode; b: TestNode }> {
  const net = new MemoryNetwork()
  const a = await makeNode(net, 'a')
  const b = await makeNode(net, 'b')
  await a.registry.start()
  return { net, a, b }
}

/** Makes `a` trust and discover `b`. */
function introduce(a: TestNode, b: TestNode): void {
  a.trust.add(b.id)
  a.backend.announcePeer(b.id, [b.address])
}

describe('PeerRegistry: trust', () => {
  it('registries sharing one trust list add one listener per event type to it, and all see its changes', async () => {
    const net = new MemoryNetwork()
    const b = await makeNode(net, 'b') // answers as a plain server
    const shared = new TrustList()
    const warnings = await warningsDuring(async () => {
      const registries = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const id = testId(`shared-${i}`)
          const { discovery, backend } = await manualDiscovery()
          const registry = new PeerRegistry<MemoryConnection>({
            self: id,
            transport: net.transport(id),
            trust: shared,
            discovery,
            backoff: FAST,
          })
          cleanups.push(async () => {
            await registry.stop()
            await discovery.stop()
          })
          await registry.start()
          backend.announcePeer(b.id, [b.address]) // untrusted for now: rejected
          return registry
        }),
      )
      expect(getEventListeners(shared, 'trust:added')).toHaveLength(1)
      shared.add(b.id)
      await waitFor(() => registries.every((r) => r.status(b.id)?.state === 'connected'), {
        timeoutMs: 10_000,
      })
      await Promise.all(registries.map((r) => r.stop()))
      expect(getEventListeners(shared, 'trust:added')).toHaveLength(0)
    })
    expect(warningsNamed(warnings, 'MaxListenersExceededWarning')).toEqual([])
  })

  it('logs, counts and emits an untrusted id, and never dials it', async () => {
    const { a, b } = await startedPair()
    const rejected = nextEvent<CustomEvent>(a.registry, 'peer:rejected')
    a.backend.announcePeer(b.id, [b.address])
    const event = await rejected
    expect(event.detail).toEqual({ id: b.id, source: 'manual', reason: 'untrusted' })
    a.backend.announcePeer(b.id, [b.address, { host: '127.0.0.2', port: 1 }])
    await new Promise((r) => setTimeout(r, 50))
    expect(a.registry.stats.rejected).toBe(2)
    expect(a.transport.dialed).toEqual([])
    expect(a.registry.size).toBe(0)
  })

  it('closes an untrusted inbound connection and emits peer:rejected', async () => {
    const { a, b } = await startedPair()
    const rejected = nextEvent<CustomEvent>(a.registry, 'peer:rejected')
    const conn = await b.transport.dial(a.address, { expectedId: a.id })
    expect((await rejected).detail).toMatchObject({ id: b.id, source: 'inbound' })
    expect(conn.isClosed).toBe(true)
    expect(conn.closeReason).toBe('untrusted')
  })

  it('closes an inbound connection without a valid node id, or with its own id', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    await a.registry.start()
    const bogus = new MemoryConnection(a.id, 'not-an-id', 'inbound', { host: '127.0.0.1', port: 1 })
    bogus.other = bogus
    expect(a.registry.accept(bogus)).toBe(false)
    expect(bogus.closeReason).toBe('invalid id')
    const self = new MemoryConnection(a.id, a.id, 'inbound', { host: '127.0.0.1', port: 2 })
    self.other = self
    expect(a.registry.accept(self)).toBe(false)
    expect(self.closeReason).toBe('self')
    expect(a.registry.size).toBe(0)
  })

  it('applies trust changes live: removing closes, adding dials a discovered peer', async () => {
    const { net, a, b } = await startedPair()
    a.backend.announcePeer(b.id, [b.address]) // untrusted for now
    await waitFor(() => a.registry.stats.rejected === 1)
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected')
    a.trust.add(b.id)
    expect((await connected).detail.id).toBe(b.id)
    const disconnected = nextEvent<CustomEvent>(a.registry, 'peer:disconnected')
    a.trust.remove(b.id)
    expect((await disconnected).detail).toMatchObject({ id: b.id, reason: 'untrusted' })
    expect(net.open()).toEqual([])
    expect(a.registry.status(b.id)).toBeUndefined()
    // and it is not redialed
    await new Promise((r) => setTimeout(r, 100))
    expect(net.open()).toEqual([])
  })

  it('works with a trust predicate and refreshTrust()', async () => {
    const net = new MemoryNetwork()
    const trusted = new Set<string>()
    const a = await makeNode(net, 'a', { trust: (id) => trusted.has(id) })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    a.backend.announcePeer(b.id, [b.address])
    await waitFor(() => a.registry.stats.rejected === 1)
    trusted.add(b.id)
    await a.registry.refreshTrust()
    await waitFor(() => a.registry.connection(b.id))
    trusted.delete(b.id)
    await a.registry.refreshTrust()
    expect(a.registry.connection(b.id)).toBeUndefined()
    await waitFor(() => net.open().length === 0)
  })

  it('refreshTrust({ signal }): an abort ends the wait for the discovery listing', async () => {
    const net = new MemoryNetwork()
    const trusted = new Set<string>()
    const a = await makeNode(net, 'a', { trust: (id) => trusted.has(id) })
    await a.registry.start()
    // a listing that never answers (a backend whose medium is unreachable)
    let listSignal: AbortSignal | undefined
    a.discovery.list = (options) => {
      listSignal = options?.signal
      return new Promise(() => {})
    }
    const controller = new AbortController()
    const refresh = a.registry.refreshTrust({ signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(refresh).rejects.toMatchObject({ name: 'AbortError' })
    expect(listSignal).toBe(controller.signal)
    await expect(a.registry.refreshTrust({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })

  it('treats a throwing trust predicate as untrusted', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', {
      trust: () => {
        throw new Error('broken')
      },
    })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    a.backend.announcePeer(b.id, [b.address])
    await waitFor(() => a.registry.stats.rejected === 1)
    expect(a.transport.dialed).toEqual([])
  })
})

describe('PeerRegistry: dialing', () => {
  it('dials a trusted peer once; announcements of a connected peer only refresh last seen', async () => {
    const { a, b } = await startedPair()
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected')
    introduce(a, b)
    expect((await connected).detail).toMatchObject({ id: b.id, direction: 'outbound' })
    const seen = a.registry.status(b.id)!.lastSeen
    await new Promise((r) => setTimeout(r, 10))
    a.backend.announcePeer(b.id, [b.address], { meta: { v: '2' } })
    const status = a.registry.status(b.id)!
    expect(status.lastSeen).toBeGreaterThan(seen)
    expect(status.state).toBe('connected')
    expect(a.transport.dialed).toHaveLength(1)
    expect(status.addresses).toEqual([
      expect.objectContaining({ host: b.address.host, port: b.address.port, sources: ['manual'] }),
    ])
    expect(status.rtt).toBe(1)
    expect(status.totalDials).toBe(1)
    expect(status.dialAttempts).toBe(0)
    expect(status.direction).toBe('outbound')
  })

  it('the dialed side adopts the inbound connection', async () => {
    const { a, b } = await startedPair()
    await b.registry.start()
    b.trust.add(a.id) // b trusts a but does not discover it
    const inbound = nextEvent<CustomEvent>(b.registry, 'peer:connected')
    introduce(a, b)
    expect((await inbound).detail).toMatchObject({ id: a.id, direction: 'inbound' })
    expect(b.registry.status(a.id)).toMatchObject({ state: 'connected', discovered: false })
  })

  it('bounds concurrent dials and times each one out', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { maxConcurrentDials: 3, dialTimeoutMs: 100 })
    await a.registry.start()
    const ids = Array.from({ length: 10 }, (_, i) => testId(`hole-${i}`))
    const failures = recordEvents(a.registry, ['peer:dial-failed'])
    ids.forEach((id, i) => {
      const address = { host: '10.255.0.1', port: 1000 + i }
      net.blackholes.add(`${address.host}:${address.port}`)
      a.trust.add(id)
      a.backend.announcePeer(id, [address])
    })
    expect(a.registry.peers().filter((p) => p.state === 'queued')).toHaveLength(7)
    await waitFor(() => failures.of('peer:dial-failed').length >= 10, { timeoutMs: 3000 })
    expect(net.maxInFlight).toBe(3)
    const detail = failures.of('peer:dial-failed')[0]!.detail as { error: Error }
    expect(detail.error).toBeInstanceOf(DialTimeoutError)
    expect(a.registry.stats.dialTimeouts).toBeGreaterThanOrEqual(10)
  })

  it('many dials at once add one listener to the registry lifetime, not one each (no leak warning)', async () => {
    const net = new MemoryNetwork()
    const warnings = await warningsDuring(async () => {
      const a = await makeNode(net, 'a', { maxConcurrentDials: 32, dialTimeoutMs: 100 })
      await a.registry.start()
      const failures = recordEvents(a.registry, ['peer:dial-failed'])
      for (let i = 0; i < 20; i++) {
        const id = testId(`many-${i}`)
        const address = { host: '10.255.0.2', port: 2000 + i }
        net.blackholes.add(`${address.host}:${address.port}`)
        a.trust.add(id)
        a.backend.announcePeer(id, [address])
      }
      await waitFor(() => failures.of('peer:dial-failed').length >= 20, { timeoutMs: 10_000 })
    })
    expect(net.maxInFlight).toBe(20)
    expect(warningsNamed(warnings, 'MaxListenersExceededWarning')).toEqual([])
  })

  it('redials with jittered exponential backoff while discovered, and connects when the peer comes up', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { backoff: { initialDelayMs: 20, maxDelayMs: 80, random: () => 0 } })
    const b = await makeNode(net, 'b')
    b.stopListening() // b is down
    await a.registry.start()
    const failures = recordEvents(a.registry, ['peer:dial-failed'])
    introduce(a, b)
    await waitFor(() => failures.events.length >= 5, { timeoutMs: 3000 })
    const retries = failures.events.map((e) => (e.detail as { retryIn: number }).retryIn)
    expect(retries.slice(0, 5)).toEqual([20, 40, 80, 80, 80])
    expect(a.registry.status(b.id)).toMatchObject({
      state: 'backoff',
      lastError: expect.stringContaining('nothing'),
    })
    expect(a.registry.status(b.id)!.dialAttempts).toBeGreaterThanOrEqual(5)
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected', () => true, 3000)
    b.stopListening = net.listen(b.id, b.address, () => {})
    await connected
    expect(a.registry.status(b.id)!.dialAttempts).toBe(0)
  })

  it('after a disconnect redials the still-discovered peer', async () => {
    const { a, b } = await startedPair()
    introduce(a, b)
    const first = await waitFor(() => a.registry.connection(b.id))
    const disconnected = nextEvent<CustomEvent>(a.registry, 'peer:disconnected')
    const reconnected = nextEvent<CustomEvent>(a.registry, 'peer:connected')
    first.other.close('remote went away')
    expect((await disconnected).detail).toEqual({
      id: b.id,
      reason: 'remote went away',
      direction: 'outbound',
    })
    expect(a.registry.status(b.id)!.state).toBe('backoff')
    await reconnected
    expect(a.registry.connection(b.id)).not.toBe(first)
  })

  it('peer:lost never closes a live connection', async () => {
    const { a, b } = await startedPair()
    introduce(a, b)
    const conn = await waitFor(() => a.registry.connection(b.id))
    a.backend.losePeer(b.id)
    await new Promise((r) => setTimeout(r, 50))
    expect(conn.isClosed).toBe(false)
    expect(a.registry.status(b.id)).toMatchObject({ state: 'connected', discovered: false })
    // liveness closes it: the lost peer is then forgotten, not redialed
    const dials = a.transport.dialed.length
    conn.other.close('idle timeout')
    await waitFor(() => a.registry.status(b.id) === undefined)
    await new Promise((r) => setTimeout(r, 100))
    expect(a.transport.dialed).toHaveLength(dials)
  })

  it('stops redialing a peer that is lost and unreachable', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    b.stopListening()
    await a.registry.start()
    introduce(a, b)
    await waitFor(() => a.registry.status(b.id)?.state === 'backoff')
    a.backend.losePeer(b.id)
    expect(a.registry.status(b.id)).toBeUndefined()
    const dials = a.transport.dialed.length
    await new Promise((r) => setTimeout(r, 300))
    expect(a.transport.dialed).toHaveLength(dials)
  })

  it('a peer lost during a dial that then fails is forgotten', async () => {
    const net = new MemoryNetwork()
    net.latency = () => 50
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    b.stopListening()
    await a.registry.start()
    introduce(a, b)
    expect(a.registry.status(b.id)!.state).toBe('dialing')
    a.backend.losePeer(b.id)
    expect(a.registry.status(b.id)!.state).toBe('dialing')
    await waitFor(() => a.registry.status(b.id) === undefined)
    expect(a.transport.dialed).toHaveLength(1)
  })

  it('tries the next address when one fails, and prefers the one that worked', async () => {
    const { a, b } = await startedPair()
    a.trust.add(b.id)
    a.backend.announcePeer(b.id, [{ host: '127.0.0.9', port: 9 }, b.address])
    const conn = await waitFor(() => a.registry.connection(b.id))
    const status = a.registry.status(b.id)!
    expect(status.addresses[0]!.lastError).toContain('nothing listens')
    expect(status.addresses[1]!.lastConnectedAt).toBeGreaterThan(0)
    conn.other.close('bye')
    await waitFor(() => a.registry.connection(b.id) && a.registry.connection(b.id) !== conn)
    expect(a.transport.dialed.slice(-1)).toEqual([`${b.address.host}:${b.address.port}`])
    expect(a.transport.dialed).toHaveLength(3)
  })

  it('closes and counts a connection whose remote id differs from the pinned one', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    const liar = testId('liar')
    // a transport that does not pin: it connects to whoever listens
    const loose = {
      dial: (address: PeerAddress) => net.transport(a.id).dial(address, { expectedId: b.id }),
    }
    const registry = new PeerRegistry({
      self: a.id,
      transport: loose,
      trust: a.trust,
      discovery: a.discovery,
    })
    cleanups.push(() => registry.stop())
    await registry.start()
    const failed = nextEvent<CustomEvent>(registry, 'peer:dial-failed')
    a.trust.add(liar)
    a.backend.announcePeer(liar, [b.address])
    expect((await failed).detail.error).toBeInstanceOf(PeerIdMismatchError)
    expect(registry.stats.pinMismatches).toBe(1)
    expect(net.open()).toEqual([])
  })
})

describe('PeerRegistry: addresses are hints', () => {
  it('an announcement of a connected peer at another address neither redirects nor drops it, and a dial there fails the pin', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a')
    const b = await makeNode(net, 'b')
    const mallory = await makeNode(net, 'mallory')
    await a.registry.start()
    introduce(a, b)
    const conn = await waitFor(() => a.registry.connection(b.id))
    const events = recordEvents(a.registry, ['peer:disconnected', 'peer:connected'])
    a.backend.announcePeer(b.id, [mallory.address]) // replaces the record's address
    await new Promise((r) => setTimeout(r, 50))
    expect(a.registry.connection(b.id)).toBe(conn)
    expect(conn.isClosed).toBe(false)
    expect(events.events).toEqual([])
    expect(a.transport.dialed).toHaveLength(1)
    // the hint is recorded, and the address that worked is kept as a fallback
    expect(a.registry.status(b.id)!.addresses.map((x) => x.port)).toEqual([
      mallory.address.port,
      b.address.port,
    ])
    await expect(a.transport.dial(mallory.address, { expectedId: b.id })).rejects.toThrow(/expected/)
    // after a disconnect the known-good address is tried first and reconnects
    conn.other.close('bye')
    await waitFor(() => a.registry.connection(b.id) && a.registry.connection(b.id) !== conn)
    expect(a.transport.dialed.slice(-1)).toEqual([`${b.address.host}:${b.address.port}`])
  })
})

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

import type { PeerAddress } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { warningsDuring, warningsNamed } from '@peer/testkit/warnings'
import { afterEach, describe, expect, it } from 'vitest'
import { NEXT_ADDRESS_AFTER_MS } from '../src/address-race.js'
import { SLOW_DIAL_MS, SLOW_DIALS_PER_SLOT } from '../src/dial-scheduler.js'
import { DialTimeoutError, PeerIdMismatchError, PeerRegistry } from '../src/index.js'
import { MemoryNetwork } from './helpers/memory-network.js'
import {
  cleanups,
  introduce,
  makeNode,
  runCleanups,
  startedPair,
  type TestNode,
} from './helpers/registry-nodes.js'

afterEach(runCleanups)

let silentPort = 1000
/** `count` trusted peers discovered by `node` at addresses of `net` that never answer. */
function silentPeers(net: MemoryNetwork, node: TestNode, label: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const address = { host: '10.255.0.1', port: silentPort++ }
    net.blackholes.add(`${address.host}:${address.port}`)
    const id = testId(`${label}-${i}`)
    node.trust.add(id)
    node.backend.announcePeer(id, [address])
  }
}

/**
 * `a` trusts `b` and is told `b` is at `[hole, b's address]`, `hole` answering nothing; resolves
 * once `a` is connected to `b`, having dialed both addresses in that order.
 */
async function connectBehindHole(
  net: MemoryNetwork,
  a: TestNode,
  b: TestNode,
  hole: { host: string; port: number },
): Promise<void> {
  net.blackholes.add(`${hole.host}:${hole.port}`)
  a.trust.add(b.id)
  a.backend.announcePeer(b.id, [hole, b.address])
  await waitFor(() => a.registry.connection(b.id), { timeoutMs: 60_000, what: 'b' })
  expect(a.transport.dialed).toEqual([`${hole.host}:${hole.port}`, `${b.address.host}:${b.address.port}`])
}

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
    const failures = recordEvents(a.registry, ['peer:dial-failed'])
    silentPeers(net, a, 'hole', 10)
    expect(a.registry.peers().filter((p) => p.state === 'queued')).toHaveLength(7)
    await waitFor(() => failures.of('peer:dial-failed').length >= 10, { timeoutMs: 3000 })
    expect(net.maxInFlight).toBe(3)
    const detail = failures.of('peer:dial-failed')[0]!.detail as { error: Error }
    expect(detail.error).toBeInstanceOf(DialTimeoutError)
    expect(a.registry.stats.dialTimeouts).toBeGreaterThanOrEqual(10)
  })

  it('peers that are down do not keep a peer that is up waiting: an unanswered dial frees its slot', async () => {
    const net = new MemoryNetwork()
    // a dial time limit no test outlasts: only freed slots can let b through
    const a = await makeNode(net, 'a', { maxConcurrentDials: 2, dialTimeoutMs: 3_600_000 })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    silentPeers(net, a, 'down', 6)
    introduce(a, b) // queued behind the six
    expect(a.registry.status(b.id)?.state).toBe('queued')
    await waitFor(() => a.registry.status(b.id)?.state === 'connected', { timeoutMs: 60_000, what: 'b' })
    // the six are still being dialed, as slow dials
    expect(a.registry.peers().filter((p) => p.state === 'dialing')).toHaveLength(6)
    expect(a.registry.stats.slowDials).toBe(6)
  })

  it('slow dials are bounded (SLOW_DIALS_PER_SLOT per slot): the rest wait in their slots', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { maxConcurrentDials: 1, dialTimeoutMs: 3_600_000 })
    await a.registry.start()
    const bound = 1 + SLOW_DIALS_PER_SLOT
    silentPeers(net, a, 'gone', bound + 3)
    await waitFor(() => net.inFlight === bound, { timeoutMs: 120_000, what: `${bound} dials in flight` })
    // past another slow-dial period, nothing more started
    await new Promise((resolve) => setTimeout(resolve, 2 * SLOW_DIAL_MS))
    expect(net.maxInFlight).toBe(bound)
    expect(a.registry.peers().filter((p) => p.state === 'queued')).toHaveLength(3)
  }, 180_000)

  it('many dials at once add one listener to the registry lifetime, not one each (no leak warning)', async () => {
    const net = new MemoryNetwork()
    const warnings = await warningsDuring(async () => {
      const a = await makeNode(net, 'a', { maxConcurrentDials: 32, dialTimeoutMs: 100 })
      await a.registry.start()
      const failures = recordEvents(a.registry, ['peer:dial-failed'])
      silentPeers(net, a, 'many', 20)
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
      nextDialAt: expect.any(Number), // what `peer status` shows as "the next dial in"
      lastError: expect.stringContaining('nothing'),
      lastDialError: expect.stringContaining('nothing'),
    })
    expect(a.registry.status(b.id)!.dialAttempts).toBeGreaterThanOrEqual(5)
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected', () => true, 3000)
    b.stopListening = net.listen(b.id, b.address, () => {})
    await connected
    expect(a.registry.status(b.id)!.dialAttempts).toBe(0)
    expect(a.registry.status(b.id)!.lastDialError).toBeUndefined() // cleared by the connection
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

  it('an address that does not answer costs a second, not the dial timeout: the next one is tried beside it', async () => {
    const net = new MemoryNetwork()
    // a dial time limit no test outlasts: only a staggered attempt can connect
    const a = await makeNode(net, 'a', { dialTimeoutMs: 3_600_000 })
    const b = await makeNode(net, 'b')
    await a.registry.start()
    await connectBehindHole(net, a, b, { host: '10.255.0.5', port: 5000 })
    // the silent attempt was aborted once the other connected: nothing left in flight or open
    await waitFor(() => net.inFlight === 0, { timeoutMs: 30_000, what: 'the aborted attempt' })
    expect(net.open()).toHaveLength(2) // the one connection, both halves
    expect(a.registry.stats).toMatchObject({ dials: 1, dialFailures: 0, connects: 1 })
  })

  it('a transport that does not report commits is dialed one address at a time', async () => {
    const net = new MemoryNetwork()
    // longer than the stagger: a second attempt beside the silent one would start before it ends
    const a = await makeNode(net, 'a', { dialTimeoutMs: 3 * NEXT_ADDRESS_AFTER_MS })
    // a transport of the user's own, without `onCommit`: two attempts could both reach the peer
    ;(a.transport as { reportsDialCommit?: boolean }).reportsDialCommit = false
    const b = await makeNode(net, 'b')
    await a.registry.start()
    await connectBehindHole(net, a, b, { host: '10.255.0.7', port: 7000 })
    expect(net.maxInFlight).toBe(1)
  })

  it("an address's failure shows in status() while the dial goes on with the next", async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { dialTimeoutMs: 3_600_000 })
    await a.registry.start()
    const id = testId('half-down')
    const refused = { host: '10.255.0.6', port: 6000 } // nothing listens: fails at once
    const hole = { host: '10.255.0.6', port: 6001 }
    net.blackholes.add(`${hole.host}:${hole.port}`)
    a.trust.add(id)
    a.backend.announcePeer(id, [refused, hole])
    await waitFor(() => a.registry.status(id)?.addresses[0]?.lastError !== undefined, {
      timeoutMs: 30_000,
      what: 'the first address failure',
    })
    expect(a.registry.status(id)).toMatchObject({ state: 'dialing' })
    expect(a.registry.status(id)!.addresses[0]!.lastError).toContain('nothing listens')
  })

  it('two addresses of a slow peer: only the attempt that commits first ever reaches it', async () => {
    const net = new MemoryNetwork()
    const a = await makeNode(net, 'a', { dialTimeoutMs: 3_600_000 })
    const b = await makeNode(net, 'b')
    const second = { host: '127.0.0.2', port: b.address.port }
    cleanups.push(net.listen(b.id, second, (conn) => b.registry.accept(conn)))
    // every handshake takes longer than NEXT_ADDRESS_AFTER_MS to commit, and longer again to end:
    // both addresses are dialed, and the first commit comes while the second attempt is in flight
    net.latency = () => 1.5 * NEXT_ADDRESS_AFTER_MS
    net.resolveDelay = () => 2 * NEXT_ADDRESS_AFTER_MS
    await a.registry.start()
    await b.registry.start()
    a.trust.add(b.id)
    b.trust.add(a.id)
    a.backend.announcePeer(b.id, [b.address, second])
    await waitFor(() => a.registry.connection(b.id), { timeoutMs: 60_000, what: 'b' })
    expect(a.transport.dialed).toHaveLength(2)
    await waitFor(() => net.inFlight === 0, { timeoutMs: 30_000, what: 'the other attempt' })
    // one connection reached b; the other attempt was aborted before it committed
    expect(net.connections.filter((c) => c.direction === 'inbound')).toHaveLength(1)
    expect(net.open()).toHaveLength(2)
    expect(b.registry.stats.replaced).toBe(0)
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

// Every rule of the peer registry over real QUIC (pinned mutual TLS) on loopback.
import type { Socket } from 'node:dgram'
import { DialTimeoutError, ServerRegistry } from '@peer/registry'
import { testId } from '@peer/testkit/ids'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { type Connection, type Listener, PinningError } from '@peer/transport-quic'
import { describe, expect, it } from 'vitest'
import { introduce, type QuicNodeOptions, quicNodesPerTest } from './helpers/quic-node.js'

const { node, cleanups } = quicNodesPerTest()

/** Two nodes that trust each other; `a` discovers `b` (b only accepts). */
async function pair(options: QuicNodeOptions = {}) {
  const a = await node(options)
  const b = await node(options)
  b.trust.add(a.id)
  return { a, b }
}

/** Both ends of the single connection between a and b, checked to be the same QUIC connection. */
function sameConnection(x: Connection | undefined, y: Connection | undefined): boolean {
  return (
    x !== undefined &&
    y !== undefined &&
    !x.isClosed &&
    !y.isClosed &&
    x.localAddress.port === y.remoteAddress.port &&
    x.remoteAddress.port === y.localAddress.port
  )
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('PeerRegistry over QUIC: trust', () => {
  it('an untrusted discovered id is logged, counted, emitted and never dialed', async () => {
    const lines: string[] = []
    const logger = (namespace: string) => ({
      namespace,
      debug() {},
      info: (message: string) => lines.push(`${namespace} ${message}`),
      warn() {},
      error() {},
    })
    const a = await node({ registry: { logger } })
    const b = await node()
    const rejected = nextEvent<CustomEvent>(a.registry, 'peer:rejected')
    a.manual!.announcePeer(b.id, [b.address])
    expect((await rejected).detail).toEqual({ id: b.id, source: 'manual', reason: 'untrusted' })
    await sleep(200)
    expect(a.registry.stats.rejected).toBe(1)
    expect(lines.some((l) => l.startsWith('peer:registry:peers rejected an untrusted peer'))).toBe(true)
    expect(a.dialer.dials).toEqual([])
    expect(b.listener.connections).toEqual([])
  })

  it('removing a trusted id closes its connection; adding a discovered one dials it', async () => {
    const { a, b } = await pair()
    a.manual!.announcePeer(b.id, [b.address])
    await waitFor(() => a.registry.stats.rejected === 1)
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected', () => true, 10_000)
    a.trust.add(b.id)
    await connected
    await waitFor(() => sameConnection(a.registry.connection(b.id), b.registry.connection(a.id)))
    const onB = nextEvent<CustomEvent>(b.registry, 'peer:disconnected', () => true, 10_000)
    const onA = nextEvent<CustomEvent>(a.registry, 'peer:disconnected')
    a.trust.remove(b.id)
    expect((await onA).detail).toMatchObject({ id: b.id, reason: 'untrusted' })
    expect((await onB).detail).toMatchObject({ id: a.id, reason: 'untrusted' })
    await sleep(300)
    expect(a.registry.status(b.id)).toBeUndefined()
    expect(b.listener.connections).toEqual([])
  })

  it('the listener refuses an id the trust list does not hold', async () => {
    const a = await node()
    const b = await node() // does not trust a
    const refused = nextEvent<CustomEvent>(b.listener, 'connection:rejected', () => true, 10_000)
    const failed = nextEvent<CustomEvent>(a.registry, 'peer:dial-failed', () => true, 10_000)
    introduce(a, b)
    expect((await refused).detail.id).toBe(a.id)
    await failed
    expect(a.registry.connection(b.id)).toBeUndefined()
    expect(b.registry.size).toBe(0)
  })
})

describe('PeerRegistry over QUIC: dialing', () => {
  it('dials a trusted peer once; a connected one only refreshes its last-seen time', async () => {
    const { a, b } = await pair()
    const connected = nextEvent<CustomEvent>(a.registry, 'peer:connected', () => true, 10_000)
    introduce(a, b)
    expect((await connected).detail).toMatchObject({ id: b.id, direction: 'outbound' })
    await waitFor(() => b.registry.connection(a.id))
    const before = a.registry.status(b.id)!.lastSeen
    await sleep(20)
    a.manual!.announcePeer(b.id, [b.address], { meta: { v: '2' } })
    const status = a.registry.status(b.id)!
    expect(status.lastSeen).toBeGreaterThan(before)
    expect(status).toMatchObject({
      state: 'connected',
      direction: 'outbound',
      dialAttempts: 0,
      totalDials: 1,
    })
    expect(status.addresses).toEqual([expect.objectContaining({ ...b.address, sources: ['manual'] })])
    expect(b.registry.status(a.id)).toMatchObject({
      state: 'connected',
      direction: 'inbound',
      discovered: false,
    })
    await waitFor(() => typeof a.registry.status(b.id)!.rtt === 'number')
    expect(a.dialer.dials).toHaveLength(1)
    expect(b.listener.connections).toHaveLength(1)
  })

  it('bounds concurrent dials and gives up on an address after the dial timeout', async () => {
    // UDP sockets that swallow every packet: a QUIC handshake to them never completes
    const holes: Socket[] = []
    for (let i = 0; i < 6; i++) holes.push((await silentUdpSocket()).socket)
    cleanups.push(() => {
      for (const s of holes) s.close()
    })
    const a = await node({ registry: { maxConcurrentDials: 2, dialTimeoutMs: 300 } })
    const failures = recordEvents(a.registry, ['peer:dial-failed'])
    holes.forEach((s, i) => {
      const id = testId(`hole-${i}-${process.pid}`)
      a.trust.add(id)
      a.manual!.announcePeer(id, [{ host: '127.0.0.1', port: s.address().port }])
    })
    expect(a.registry.peers().filter((p) => p.state === 'queued')).toHaveLength(4)
    await waitFor(() => failures.events.length >= 6, { timeoutMs: 10_000 })
    expect(a.dialer.maxInFlight).toBe(2)
    expect((failures.events[0]!.detail as { error: Error }).error).toBeInstanceOf(DialTimeoutError)
    expect(a.registry.stats.dialTimeouts).toBeGreaterThanOrEqual(6)
  })

  it('peer:lost marks the peer but never closes the live connection', async () => {
    const { a, b } = await pair()
    introduce(a, b)
    const conn = await waitFor(() => a.registry.connection(b.id), { timeoutMs: 10_000 })
    const events = recordEvents(a.registry, ['peer:disconnected'])
    a.manual!.losePeer(b.id)
    await sleep(1500) // several keepalive intervals
    expect(conn.isClosed).toBe(false)
    expect(events.events).toEqual([])
    expect(a.registry.status(b.id)).toMatchObject({ state: 'connected', discovered: false })
    // the channel still carries messages
    const [channel, accepted] = await Promise.all([
      conn.openChannel(),
      b.registry.connection(a.id)!.acceptChannel(),
    ])
    await channel.send(new TextEncoder().encode('still here'))
    await channel.flush()
    expect(new TextDecoder().decode(await accepted.receive())).toBe('still here')
  })

  it('after a disconnect redials with backoff while discovered, and reconnects when the peer is back', async () => {
    const { a, b } = await pair({ registry: { dialTimeoutMs: 1000 } })
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id), { timeoutMs: 10_000 })
    const failures = recordEvents(a.registry, ['peer:dial-failed'])
    const disconnected = nextEvent<CustomEvent>(a.registry, 'peer:disconnected', () => true, 10_000)
    // b goes away without saying `shutdown` (a peer that says it is stopping is not redialed)
    await b.transport.close('gone')
    expect((await disconnected).detail).toMatchObject({ id: b.id, direction: 'outbound' })
    await waitFor(() => failures.events.length >= 3, { timeoutMs: 15_000 })
    const waits = failures.events.map((e) => (e.detail as { retryIn: number }).retryIn)
    // 50 ms doubling (FAST_BACKOFF), the top half jittered
    expect(waits[1]!).toBeGreaterThanOrEqual(50)
    expect(waits[2]!).toBeGreaterThanOrEqual(100)
    expect(a.registry.status(b.id)).toMatchObject({ state: 'backoff', discovered: true })
    // b comes back with the same identity on the same port
    const b2 = await node({ identity: b.identity, trust: b.trust, port: b.address.port })
    expect(b2.address.port).toBe(b.address.port)
    await waitFor(() => sameConnection(a.registry.connection(b.id), b2.registry.connection(a.id)), {
      timeoutMs: 15_000,
    })
    expect(a.registry.status(b.id)!.dialAttempts).toBe(0)
  })

  it('stops redialing once the peer is lost and unreachable', async () => {
    const { a, b } = await pair()
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id), { timeoutMs: 10_000 })
    await b.transport.close('gone') // not `shutdown`: a redials
    await waitFor(() => a.registry.status(b.id)?.state === 'backoff', { timeoutMs: 10_000 })
    a.manual!.losePeer(b.id)
    await waitFor(() => a.registry.status(b.id) === undefined, { timeoutMs: 10_000 })
    const dials = a.dialer.dials.length
    await sleep(1500)
    expect(a.dialer.dials).toHaveLength(dials)
  })
})

describe('PeerRegistry over QUIC: simultaneous dials', () => {
  it('two nodes dialing each other at the same moment keep exactly one connection, the same on both sides', async () => {
    for (let round = 0; round < 4; round++) {
      const a = await node()
      const b = await node()
      a.trust.add(b.id)
      b.trust.add(a.id)
      const types = ['peer:connected', 'peer:connection-replaced', 'peer:disconnected']
      const ea = recordEvents(a.registry, types)
      const eb = recordEvents(b.registry, types)
      a.manual!.announcePeer(b.id, [b.address])
      b.manual!.announcePeer(a.id, [a.address])
      await waitFor(
        () =>
          sameConnection(a.registry.connection(b.id), b.registry.connection(a.id)) &&
          a.listener.connections.length + b.listener.connections.length === 1,
        { timeoutMs: 15_000, what: `one connection (round ${round})` },
      )
      await sleep(500)
      expect(sameConnection(a.registry.connection(b.id), b.registry.connection(a.id))).toBe(true)
      expect(a.listener.connections.length + b.listener.connections.length).toBe(1)
      const conn = a.registry.connection(b.id)!
      const dialer = conn.direction === 'outbound' ? a.id : b.id
      expect(dialer).toBe(a.id < b.id ? a.id : b.id)
      // the last connection each side announced is the survivor
      for (const [events, self, other] of [
        [ea, a, b],
        [eb, b, a],
      ] as const) {
        const announced = events.events.filter((e) => e.type !== 'peer:disconnected')
        expect((announced.at(-1)!.detail as { connection: Connection }).connection).toBe(
          self.registry.connection(other.id),
        )
      }
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('PeerRegistry over QUIC: addresses are hints', () => {
  it('an announcement of a trusted id at another address neither redirects nor drops the live connection; a dial there fails the pin', async () => {
    const { a, b } = await pair()
    const mallory = await node()
    mallory.trust.add(a.id) // mallory would happily talk to a
    introduce(a, b)
    const conn = await waitFor(() => a.registry.connection(b.id), { timeoutMs: 10_000 })
    const events = recordEvents(a.registry, ['peer:disconnected', 'peer:connected'])
    a.manual!.announcePeer(b.id, [mallory.address])
    await sleep(1000)
    expect(a.registry.connection(b.id)).toBe(conn)
    expect(conn.isClosed).toBe(false)
    expect(events.events).toEqual([])
    expect(a.dialer.dials).toHaveLength(1)
    expect(mallory.listener.connections).toEqual([])
    await expect(a.transport.dial(mallory.address, { expectedId: b.id })).rejects.toBeInstanceOf(PinningError)
    // the hint is recorded; the address that worked stays as a fallback
    expect(a.registry.status(b.id)!.addresses.map((x) => x.port)).toEqual([
      mallory.address.port,
      b.address.port,
    ])
  })

  it('a redial tries the hinted address, fails the pin there, and reconnects at the real one', async () => {
    const { a, b } = await pair()
    const mallory = await node()
    mallory.trust.add(a.id)
    a.trust.add(b.id)
    // mallory's address is announced first (as if a spoofed source ranked higher)
    a.manual!.announcePeer(b.id, [mallory.address, b.address])
    const conn = await waitFor(() => a.registry.connection(b.id), { timeoutMs: 10_000 })
    expect(conn.remoteId).toBe(b.id)
    expect(a.registry.status(b.id)!.addresses[0]!.lastError).toMatch(/identity mismatch/)
    expect(mallory.listener.connections).toEqual([])
  })
})

describe('ServerRegistry with QUIC listeners', () => {
  it('resolves port 0, lists connections, and drops the entry when the listener closes', async () => {
    const { a, b } = await pair()
    const servers = new ServerRegistry<Listener>()
    servers.register('peer', b.listener, { port: 0, options: { alpn: 'peer/1' } })
    expect(servers.getPort('peer')).toBe(b.address.port)
    introduce(a, b)
    await waitFor(() => servers.getConnections('peer').length === 1, { timeoutMs: 10_000 })
    expect(servers.getConnections('peer')[0]!.remoteId).toBe(a.id)
    await b.listener.close('done')
    await waitFor(() => !servers.has('peer'))
  })

  it('closing an old listener after its name was re-registered keeps the new entry', async () => {
    const old = await node()
    const fresh = await node()
    const servers = new ServerRegistry()
    servers.register('svc', old.listener)
    servers.unregister('svc')
    servers.register('svc', fresh.listener)
    await old.listener.close('old one goes')
    await sleep(50)
    expect(servers.lookup('svc')!.server).toBe(fresh.listener)
    expect(servers.getPort('svc')).toBe(fresh.address.port)
  })
})

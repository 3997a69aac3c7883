// The peer registry's trust rules over an in-process transport (fast and deterministic). The same
// rules run over real QUIC in quic-peer-registry.test.ts.
import { getEventListeners } from 'node:events'
import { TrustList } from '@peer/identity'
import { testId } from '@peer/testkit/ids'
import { manualDiscovery } from '@peer/testkit/manual-discovery'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { warningsDuring, warningsNamed } from '@peer/testkit/warnings'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerRegistry } from '../src/index.js'
import { MemoryConnection, MemoryNetwork } from './helpers/memory-network.js'
import { cleanups, FAST, makeNode, runCleanups, startedPair } from './helpers/registry-nodes.js'

afterEach(runCleanups)

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

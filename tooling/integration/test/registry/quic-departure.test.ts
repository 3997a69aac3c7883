// A peer that stops says so (`shutdown`): over real QUIC, the registry does not redial it until
// discovery reports it again (or `departedHoldMs` passes), and stop() is bounded.

import { PeerRegistry, type RegistryConnection } from '@peer/registry'
import { testId } from '@peer/testkit/ids'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { introduce, quicNodesPerTest } from './helpers/quic-node.js'

const { node } = quicNodesPerTest()

describe('a peer that stops is not redialed until it is announced again', () => {
  it('peer:disconnected with reason shutdown, state departed, no dial; a new announcement dials it', async () => {
    const a = await node({ registry: { departedHoldMs: 60_000 } })
    const b = await node()
    b.trust.add(a.id)
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id) && b.registry.connection(a.id), { timeoutMs: 10_000 })
    const disconnected = nextEvent<CustomEvent>(a.registry, 'peer:disconnected', () => true, 10_000)
    const dials = a.dialer.dials.length
    await b.stop()
    expect((await disconnected).detail).toMatchObject({ id: b.id, reason: 'shutdown' })
    expect(a.registry.status(b.id)).toMatchObject({ state: 'departed', discovered: true })
    expect(a.registry.status(b.id)!.nextDialAt).toBeGreaterThan(Date.now() + 30_000)
    expect(a.dialer.dials.length).toBe(dials)
    // b comes back on a new port and is announced again: dialed at once
    const b2 = await node({ identity: b.identity, trust: b.trust })
    a.manual!.announcePeer(b.id, [b2.address])
    await waitFor(() => a.registry.status(b.id)?.state === 'connected', { timeoutMs: 10_000 })
    expect(a.dialer.dials.length).toBeGreaterThan(dials)
  })

  it('the hold is bounded: after departedHoldMs a still-discovered peer is redialed', async () => {
    const a = await node({ registry: { departedHoldMs: 300 } })
    const b = await node()
    b.trust.add(a.id)
    introduce(a, b)
    await waitFor(() => a.registry.connection(b.id) && b.registry.connection(a.id), { timeoutMs: 10_000 })
    const dials = a.dialer.dials.length
    await b.stop()
    await waitFor(() => a.registry.status(b.id)?.state === 'departed', { timeoutMs: 10_000 })
    // b restarts on the same port without telling anyone: the hold ends and a redials it
    const b2 = await node({ identity: b.identity, trust: b.trust, port: b.address.port })
    expect(b2.address.port).toBe(b.address.port)
    await waitFor(() => a.registry.status(b.id)?.state === 'connected', { timeoutMs: 10_000 })
    expect(a.dialer.dials.length).toBeGreaterThan(dials)
  })
})

describe('stop is bounded', () => {
  it('stop() resolves after timeoutMs when a connection never reports closed', async () => {
    const never = new Promise<never>(() => {})
    const registry = new PeerRegistry<RegistryConnection>({
      self: testId('a'),
      transport: { dial: () => never },
      trust: () => true,
      stopTimeoutMs: 60_000,
    })
    await registry.start()
    registry.accept({ remoteId: testId('b'), close: () => never, closed: never })
    expect(registry.status(testId('b'))?.state).toBe('connected')
    const stopped = await registry.stop({ timeoutMs: 50 }).then(() => 'stopped')
    expect(stopped).toBe('stopped')
    // and a signal ends the wait too
    const other = new PeerRegistry<RegistryConnection>({
      self: testId('a'),
      transport: { dial: () => never },
      trust: () => true,
    })
    await other.start()
    other.accept({ remoteId: testId('c'), close: () => never, closed: never })
    const controller = new AbortController()
    const stopping = other.stop({ timeoutMs: 60_000, signal: controller.signal })
    controller.abort()
    expect(await stopping.then(() => 'stopped')).toBe('stopped')
  })
})

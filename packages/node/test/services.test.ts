// Named services across the cluster through discovery: two and three real nodes on loopback QUIC.
// The peers are announced by hand (the testkit's manual backend, as an operator's static list
// would list them) with each node's `meta.services`, which is what `provide()` would announce
// through a backend that can publish (see tooling/integration/test/node/services-etcd.test.ts).
import {
  AbstractAnnouncingBackend,
  type DiscoveryBackend,
  type DiscoveryCapability,
  type DiscoveryEvents,
  encodeServiceList,
  InvalidServiceNameError,
  type LocalPeer,
  type PeerRecord,
  SERVICES_META_KEY,
  TypedEventTarget,
} from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, type PeerNode, ServiceUnavailableError } from '../src/index.js'
import { FAST_REGISTRY } from './helpers.js'

const nodes: PeerNode[] = []
afterEach(async () => {
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

async function start(
  identity: Awaited<ReturnType<typeof generateIdentity>>,
  trust: string[],
  discovery?: ManualBackend,
) {
  const node = await createNode({
    identity,
    trust,
    lostHysteresisMs: 0,
    registry: FAST_REGISTRY,
    stopTimeoutMs: 1000,
    ...(discovery === undefined ? {} : { discovery }),
  })
  nodes.push(node)
  return node
}

/**
 * A backend not built on `AbstractDiscoveryBackend` (the interface alone): it reports records as
 * they come, unchecked, so the node's own filter is what drops bad service names.
 */
class RawBackend extends TypedEventTarget<DiscoveryEvents> implements DiscoveryBackend {
  readonly source = 'raw'
  readonly capabilities = new Set<DiscoveryCapability>(['list', 'watch'])
  readonly stats = { invalidRecords: 0, overflowDrops: 0, listenerErrors: 0, errors: 0 }
  started = false
  readonly #records = new Map<string, PeerRecord>()
  async start(): Promise<void> {
    this.started = true
  }
  async stop(): Promise<void> {
    this.started = false
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
  async lookup(id: string): Promise<PeerRecord | undefined> {
    return this.#records.get(id)
  }
  async list(): Promise<PeerRecord[]> {
    return [...this.#records.values()]
  }
  report(record: PeerRecord): void {
    const known = this.#records.has(record.id)
    this.#records.set(record.id, record)
    this.emit(known ? 'peer:updated' : 'peer:discovered', { record, source: this.source })
  }
}

/** Announces `node` through `discovery` with `services` in its record's `meta.services`. */
const announce = (discovery: ManualBackend, node: PeerNode, services: string[]) =>
  discovery.announcePeer(node.id, [node.address], {
    name: node.name,
    meta: { [SERVICES_META_KEY]: encodeServiceList(services)! },
  })

describe('named services through discovery', () => {
  it('lists providers live, and requests a service by name', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const trust = [a.id, b.id]
    const server = await start(a, trust)
    server.handle('get', (key) => ({ key, from: 'server' }))
    const discovery = new ManualBackend()
    const client = await start(b, trust, discovery)
    expect(client.providers('kv')).toEqual([])
    await expect(client.request({ service: 'kv' }, 'get', 'x')).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    )
    // a target object without `service` (say, { id }) says what a target is
    await expect(client.request({ id: server.id } as never, 'get', 'x')).rejects.toThrow(
      /the target is a node id, a node name or \{ service: name \}; got an object without `service`/,
    )

    const added = nextEvent<CustomEvent>(client, 'provider:added', (e) => e.detail.service === 'kv', 30_000)
    announce(discovery, server, ['kv', 'search'])
    expect((await added).detail).toMatchObject({ service: 'kv', id: server.id, reason: 'announced' })
    expect(client.providers('kv')).toEqual([server.id])
    expect(client.providers('search')).toEqual([server.id])
    await client.waitForPeer(server.id, { timeoutMs: 30_000 })
    expect(await client.request({ service: 'kv' }, 'get', 'k1', { timeoutMs: 30_000 })).toEqual({
      key: 'k1',
      from: 'server',
    })

    // the record changes: `kv` is gone, `search` stays
    const removed = nextEvent<CustomEvent>(
      client,
      'provider:removed',
      (e) => e.detail.service === 'kv',
      30_000,
    )
    announce(discovery, server, ['search'])
    expect((await removed).detail).toMatchObject({ service: 'kv', id: server.id, reason: 'unprovided' })
    expect(client.providers('kv')).toEqual([])
    expect(client.providers('search')).toEqual([server.id])
  })

  it('refuses meta.services in the options: the node keeps that key (provide() fills it)', async () => {
    const a = await generateIdentity()
    const create = () => createNode({ identity: a, trust: [a.id], meta: { role: 'x', services: 'kv' } })
    await expect(create()).rejects.toMatchObject({ name: 'ConfigError', option: 'meta' })
    await expect(create()).rejects.toThrow(/node\.provide\(name\)/)
  })

  it('warns once when no backend can announce what it provides (only static lists or DNS)', async () => {
    class Announcer extends AbstractAnnouncingBackend {
      constructor() {
        super('announcer', ['list'])
      }
      protected async onStart() {}
      protected async onStop() {}
      protected async doAnnounce() {}
      protected async doWithdraw() {}
    }
    const warnings = async (discovery: DiscoveryBackend[]) => {
      const identity = await generateIdentity()
      const { factory, records } = recordingLogger()
      const node = await createNode({ identity, trust: [identity.id], discovery, logger: factory })
      nodes.push(node)
      await node.provide('kv')
      await node.provide('search')
      return records.filter((r) => r.level === 'warn' && r.message.startsWith('provide:'))
    }
    const unannounced = await warnings([new ManualBackend('static')])
    expect(unannounced).toHaveLength(1)
    expect(unannounced[0]!.fields).toMatchObject({ service: 'kv', backends: ['static'] })
    expect(await warnings([new ManualBackend('static'), new Announcer()])).toEqual([])
  })

  it('announces once for the provide and unprovide calls of one event-loop turn', async () => {
    const announced: Array<string | undefined> = []
    class Announcer extends AbstractAnnouncingBackend {
      constructor() {
        super('announcer', ['list'])
      }
      protected async onStart() {}
      protected async onStop() {}
      protected async doAnnounce(self: LocalPeer) {
        announced.push(self.meta?.[SERVICES_META_KEY])
      }
      protected async doWithdraw() {}
    }
    const identity = await generateIdentity()
    const node = await createNode({ identity, trust: [], discovery: new Announcer() })
    nodes.push(node)
    const atStart = announced.length
    const names = Array.from({ length: 10 }, (_, i) => `s${i}`)
    await Promise.all(names.map((name) => node.provide(name)))
    expect(announced.slice(atStart)).toEqual([names.join(',')])
    await Promise.all([node.unprovide('s0'), node.unprovide('s1'), node.provide('kv')])
    expect(announced.slice(atStart + 1)).toEqual([['kv', ...names.slice(2)].sort().join(',')])
    // a caller's signal ends its own wait only
    const controller = new AbortController()
    const aborted = node.provide('late', { signal: controller.signal })
    const kept = node.provide('later')
    controller.abort() // before the shared announcement runs
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    await kept
    expect(announced.at(-1)).toContain('late,later')
  })

  it('validates names and drops bad names and oversized lists from records, counted', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const discovery = new ManualBackend()
    const node = await start(a, [a.id, b.id], discovery)
    await expect(node.provide('Not A Name')).rejects.toBeInstanceOf(InvalidServiceNameError)
    expect(() => node.providers('')).toThrow(InvalidServiceNameError)
    discovery.announcePeer(b.id, [{ host: '127.0.0.1', port: 9 }], {
      meta: { [SERVICES_META_KEY]: 'ok,BAD NAME,,also-ok' },
    })
    await waitFor(() => node.providers('also-ok').length === 1, { timeoutMs: 30_000, what: 'the record' })
    expect(node.providers('ok')).toEqual([b.id])
    // dropped and counted by the backend (the shared base class), seen through the node's discovery
    expect(discovery.stats).toMatchObject({ droppedServiceNames: 2, droppedServiceLists: 0 })
    expect(node.discovery?.stats).toMatchObject({ droppedServiceNames: 2, droppedServiceLists: 0 })
    // the node's own filter is for backends not built on the base class: nothing left to drop here
    expect(node.serviceStats).toEqual({ droppedNames: 0, droppedLists: 0 })
    discovery.announcePeer(b.id, [{ host: '127.0.0.1', port: 9 }], {
      meta: { [SERVICES_META_KEY]: Array.from({ length: 40 }, (_, i) => `s${i}`).join(',') },
    })
    await waitFor(() => node.providers('ok').length === 0, { timeoutMs: 30_000, what: 'the oversized list' })
    expect(node.providers('s1')).toEqual([])
    expect(node.discovery?.stats).toMatchObject({ droppedServiceNames: 2, droppedServiceLists: 1 })
    expect(node.state).toBe('started')
  })

  it('drops and counts bad service names itself from a backend not built on the base class', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const raw = new RawBackend()
    const node = await createNode({
      identity: a,
      trust: [a.id, b.id],
      lostHysteresisMs: 0,
      registry: FAST_REGISTRY,
      stopTimeoutMs: 1000,
      discovery: raw,
    })
    nodes.push(node)
    const record = (services: string): PeerRecord => ({
      id: b.id,
      source: 'raw',
      addresses: [{ host: '127.0.0.1', port: 9 }],
      meta: { [SERVICES_META_KEY]: services },
    })
    raw.report(record('ok,BAD NAME,,also-ok'))
    await waitFor(() => node.providers('also-ok').length === 1, { timeoutMs: 30_000, what: 'the record' })
    expect(node.providers('ok')).toEqual([b.id])
    expect(node.serviceStats).toEqual({ droppedNames: 2, droppedLists: 0 })
    raw.report(record(Array.from({ length: 40 }, (_, i) => `s${i}`).join(',')))
    await waitFor(() => node.providers('ok').length === 0, { timeoutMs: 30_000, what: 'the oversized list' })
    expect(node.serviceStats).toEqual({ droppedNames: 2, droppedLists: 1 })
  })

  it("providers(name, { ordered: true }) is request's order: connected providers first", async () => {
    const client = await generateIdentity()
    // the unreachable provider's id sorts first: the id order is not the answer
    const [ghost, server] = (await Promise.all([generateIdentity(), generateIdentity()])).sort((a, b) =>
      a.id < b.id ? -1 : 1,
    )
    const trust = [client.id, server!.id, ghost!.id]
    const discovery = new ManualBackend()
    const node = await start(client, trust, discovery)
    const provider = await start(server!, trust)
    announce(discovery, provider, ['kv'])
    // a member whose record lists the service but that nothing answers for (never connected)
    discovery.announcePeer(ghost!.id, [{ host: '127.0.0.1', port: 9 }], {
      name: 'ghost@127.0.0.1',
      meta: { [SERVICES_META_KEY]: encodeServiceList(['kv'])! },
    })
    await node.waitForPeer(provider.id, { timeoutMs: 30_000 })
    await waitFor(() => node.providers('kv').length === 2, { timeoutMs: 30_000, what: 'both providers' })
    expect(node.providers('kv')).toEqual([ghost!.id, server!.id])
    expect(node.providers('kv', { ordered: true })).toEqual([server!.id, ghost!.id])
  })

  it('fails over to the next provider when the chosen one becomes unavailable', async () => {
    const ids = await Promise.all([generateIdentity(), generateIdentity()])
    const trust = ids.map((i) => i.id)
    const discovery = new ManualBackend()
    const client = await start(ids[0]!, trust, discovery)
    const good = await start(ids[1]!, trust)
    good.handle('work', () => 'good')
    announce(discovery, good, ['worker'])
    await client.waitForPeer(good.id, { timeoutMs: 30_000 })
    // the providers are in random order when both are connected with similar RTTs: repeat until
    // the request went to the failing one first (each try fails there with probability 1/2)
    let failedOver = false
    for (let attempt = 0; attempt < 30 && !failedOver; attempt++) {
      // a fresh identity each time (a stopped node's id is not redialed for a while)
      const identity = await generateIdentity()
      client.trust!.add(identity.id)
      const bad = await start(identity, [...trust, identity.id])
      let entered = false
      bad.handle('work', async () => {
        entered = true
        void bad.stop() // stopping with the request in flight: the client sees the peer unavailable
        await new Promise((r) => setTimeout(r, 60_000))
      })
      announce(discovery, bad, ['worker'])
      await client.waitForPeer(bad.id, { timeoutMs: 30_000 })
      expect(await client.request({ service: 'worker' }, 'work', null, { timeoutMs: 50_000 })).toBe('good')
      failedOver = entered
      await bad.stop()
      discovery.losePeer(bad.id)
      await waitFor(() => client.providers('worker').length === 1, { timeoutMs: 30_000, what: 'bad removed' })
    }
    expect(failedOver).toBe(true)
  })

  it('with no provider connected, the first to come up gets the request: one whose dial hangs takes no timeout', async () => {
    const [mine, hung, late] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    const holes = await Promise.all([silentUdpSocket(), silentUdpSocket()])
    try {
      const discovery = new ManualBackend()
      // dial and idle time limits no test reaches: only a provider that comes up can end a wait
      const client = await createNode({
        identity: mine,
        trust: [hung.id, late.id],
        lostHysteresisMs: 0,
        registry: { ...FAST_REGISTRY, dialTimeoutMs: 600_000 },
        transport: { maxIdleTimeoutMs: 600_000 },
        stopTimeoutMs: 1000,
        discovery,
      })
      nodes.push(client)
      const meta = { [SERVICES_META_KEY]: encodeServiceList(['kv'])! }
      // both providers' ports answer nothing: `hung` never will, `late` comes up on its port below
      const [hungHole, lateHole] = holes
      discovery.announcePeer(hung.id, [{ host: '127.0.0.1', port: hungHole.port }], { name: 'hung@x', meta })
      discovery.announcePeer(late.id, [{ host: '127.0.0.1', port: lateHole.port }], { name: 'late@x', meta })
      await waitFor(() => client.providers('kv').length === 2, { timeoutMs: 30_000, what: 'both providers' })
      // eight requests: each one that waited on the provider it picked first would wait on `hung`
      // with probability 1/2, and time out
      const answers = Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client.request({ service: 'kv' }, 'get', i, { timeoutMs: 120_000 }),
        ),
      )
      lateHole.socket.close()
      const provider = await createNode({
        identity: late,
        trust: [mine.id],
        listen: { host: '127.0.0.1', port: lateHole.port },
        stopTimeoutMs: 1000,
      })
      nodes.push(provider)
      provider.handle('get', (i) => `late ${i}`)
      expect(await answers).toEqual(Array.from({ length: 8 }, (_, i) => `late ${i}`))
    } finally {
      for (const h of holes) {
        try {
          h.socket.close()
        } catch {
          // closed already (the late provider's, once its node took the port)
        }
      }
    }
  }, 300_000)
})

// The node's OpenTelemetry instruments, read with an in-memory MetricReader from the real SDK,
// after real traffic between two nodes over QUIC on loopback.

import { metrics as otelMetrics } from '@opentelemetry/api'
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics'
import { ConfigError, silentLogger } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { RawBackend } from '@peer/testkit/manual-discovery'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, type MeterProviderLike, type NodeOptions, NoHandlerError } from '../src/index.js'
import { resolveMeterProvider } from '../src/metrics.js'
import { introduce, type Member, startMember, stopAll } from './helpers.js'

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Every data point of `name`, from one collection. */
function points(collected: ResourceMetrics, name: string): DataPoint<number | Histogram>[] {
  const out: DataPoint<number | Histogram>[] = []
  for (const scope of collected.scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) out.push(...(metric.dataPoints as DataPoint<number | Histogram>[]))
  return out
}

/** The sum of the values of `name` whose attributes include `match`. */
function total(collected: ResourceMetrics, name: string, match: Record<string, unknown> = {}): number {
  let sum = 0
  for (const p of points(collected, name)) {
    if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue
    sum += typeof p.value === 'number' ? p.value : p.value.count
  }
  return sum
}

async function collect(reader: MetricReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect()
  expect(errors).toEqual([])
  return resourceMetrics
}

function meter(): { provider: MeterProvider; reader: TestReader } {
  const reader = new TestReader()
  return { provider: new MeterProvider({ readers: [reader] }), reader }
}

let members: Member[] = []
const providers: MeterProvider[] = []
afterEach(async () => {
  await stopAll(members)
  members = []
  await Promise.allSettled(providers.splice(0).map((p) => p.shutdown()))
})

async function pair(metricsA: NodeOptions['metrics']) {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const trust = [ia.id, ib.id]
  const a = await startMember(ia, trust, { name: 'a@localhost', metrics: metricsA })
  const b = await startMember(ib, trust, { name: 'b@localhost', metrics: false })
  members = [a, b]
  introduce(members)
  await waitFor(() => a.node.peers().length === 1 && b.node.peers().length === 1, {
    timeoutMs: 20_000,
    what: 'the pair connected',
  })
  return { a, b }
}

describe('node metrics', () => {
  it('a real MeterProvider is a MeterProviderLike (no type dependency on @opentelemetry/api)', () => {
    const { provider } = meter()
    providers.push(provider)
    const like: MeterProviderLike = provider
    expect(typeof like.getMeter).toBe('function')
  })

  it('counters, gauges and histograms move with real traffic; stop unregisters everything', async () => {
    const { provider, reader } = meter()
    providers.push(provider)
    let removed = 0
    const spy: MeterProviderLike = {
      getMeter: (name) => {
        const m = provider.getMeter(name)
        return Object.assign(Object.create(m), {
          removeBatchObservableCallback: (...args: Parameters<typeof m.removeBatchObservableCallback>) => {
            removed++
            m.removeBatchObservableCallback(...args)
          },
        })
      },
    }
    const { a, b } = await pair({ meterProvider: spy })
    b.node.handle('echo', (x) => x)
    b.node.handle('sink', () => undefined)
    const before = await collect(reader)
    const sentBefore = total(before, 'peer.node.messages.sent')
    const bytesBefore = total(before, 'peer.node.bytes.sent')
    expect(total(before, 'peer.node.peers')).toBe(1)

    for (let i = 0; i < 5; i++) await a.node.send(b.node.id, 'sink', { i })
    expect(await a.node.request(b.node.id, 'echo', 'hi')).toBe('hi')
    await expect(a.node.request(b.node.id, 'missing', 1)).rejects.toBeInstanceOf(NoHandlerError)
    await waitFor(() => b.node.stats.messagesReceived >= 7, { timeoutMs: 10_000, what: 'b got the messages' })

    const after = await collect(reader)
    expect(total(after, 'peer.node.messages.sent')).toBeGreaterThanOrEqual(sentBefore + 7)
    expect(total(after, 'peer.node.bytes.sent')).toBeGreaterThan(bytesBefore)
    expect(total(after, 'peer.node.messages.received')).toBeGreaterThanOrEqual(2)
    expect(total(after, 'peer.node.request.duration', { 'peer.request.outcome': 'ok' })).toBe(1)
    expect(total(after, 'peer.node.request.duration', { 'peer.request.outcome': 'no_handler' })).toBe(1)
    expect(total(after, 'peer.registry.connections.opened')).toBeGreaterThanOrEqual(1)
    expect(total(after, 'peer.node.peers.up')).toBe(1)
    const engine = points(after, 'peer.transport.engine')
    expect(engine.map((p) => p.value)).toEqual([1])
    expect(['quinn', 'matrixai']).toContain(engine[0]?.attributes['peer.transport.engine'])
    expect(
      total(after, 'peer.discovery.events', {
        'peer.backend': 'manual',
        'peer.discovery.event': 'discovered',
      }),
    ).toBe(1)
    expect(total(after, 'peer.discovery.time_to_discover', { 'peer.backend': 'manual' })).toBe(1)
    expect(total(after, 'peer.discovery.records.dropped', { 'peer.backend': 'manual' })).toBe(0)
    // bounded cardinality: no per-peer series unless asked
    for (const scope of after.scopeMetrics)
      for (const metric of scope.metrics)
        for (const p of metric.dataPoints) expect(p.attributes['peer.id']).toBeUndefined()

    // time to lost: b goes away (peer:down at a), then a's backend reports it lost
    const down = nextEvent(a.node, 'peer:down')
    await b.node.stop()
    await down
    a.discovery.losePeer(b.node.id)
    const lost = await collect(reader)
    expect(total(lost, 'peer.discovery.time_to_lost', { 'peer.backend': 'manual' })).toBe(1)
    expect(total(lost, 'peer.discovery.events', { 'peer.discovery.event': 'lost' })).toBe(1)
    expect(total(lost, 'peer.node.peers.down')).toBe(1)
    expect(total(lost, 'peer.node.peers')).toBe(0)

    // a rediscovery is an event, but time-to-discover counts the first report of an id only
    a.discovery.announcePeer(b.node.id, [{ host: '127.0.0.1', port: 9 }], { name: 'b@localhost' })
    const again = await collect(reader)
    expect(total(again, 'peer.discovery.events', { 'peer.discovery.event': 'discovered' })).toBe(2)
    expect(total(again, 'peer.discovery.time_to_discover')).toBe(1)

    // stop unregisters the callback: the SDK keeps the last values, which no longer move
    await a.node.stop()
    expect(removed).toBe(1)
    const final = total(await collect(reader), 'peer.node.messages.sent')
    expect(total(await collect(reader), 'peer.node.messages.sent')).toBe(final)
  })

  it('engine datagram counters sum open and closed connections, so they never go down', async () => {
    const { provider, reader } = meter()
    providers.push(provider)
    const { a, b } = await pair({ meterProvider: provider })
    b.node.handle('echo', (x) => x)
    for (let i = 0; i < 5; i++)
      expect(await a.node.request(b.node.id, 'echo', 'x'.repeat(10_000))).toHaveLength(10_000)
    const datagrams = (collected: ResourceMetrics) => ({
      received: total(collected, 'peer.transport.datagrams', { 'network.io.direction': 'receive' }),
      sent: total(collected, 'peer.transport.datagrams', { 'network.io.direction': 'transmit' }),
    })
    const open = datagrams(await collect(reader))
    // five 10 kB requests and their answers: at least a datagram each way per message
    expect(open.received).toBeGreaterThanOrEqual(5)
    expect(open.sent).toBeGreaterThanOrEqual(5)

    // b goes away: a has no connection left, and the closed ones' final counts stay in the totals
    const down = nextEvent(a.node, 'peer:down')
    a.discovery.losePeer(b.node.id)
    await b.node.stop()
    await down
    expect(a.node.peers()).toHaveLength(0)
    const closed = datagrams(await collect(reader))
    expect(closed.received).toBeGreaterThanOrEqual(open.received)
    expect(closed.sent).toBeGreaterThanOrEqual(open.sent)
  })

  it('per-peer series only with peerAttributes, and extra attributes on every series', async () => {
    const { provider, reader } = meter()
    providers.push(provider)
    const { a, b } = await pair({
      meterProvider: provider,
      peerAttributes: true,
      attributes: { 'peer.node.name': 'a' },
    })
    const collected = await collect(reader)
    const perPeer = points(collected, 'peer.node.peer.bytes.sent')
    expect(perPeer.map((p) => p.attributes['peer.id'])).toEqual([b.node.id])
    expect(points(collected, 'peer.node.messages.sent')[0]?.attributes['peer.node.name']).toBe('a')
    expect(a.node.state).toBe('started')
  })

  it('uses the global MeterProvider of @opentelemetry/api when none is given', async () => {
    const { provider, reader } = meter()
    providers.push(provider)
    otelMetrics.setGlobalMeterProvider(provider)
    try {
      const node = await createNode({ trust: [], metrics: undefined })
      members = [{ node } as Member]
      expect(total(await collect(reader), 'peer.node.peers')).toBe(0)
      expect(points(await collect(reader), 'peer.node.messages.sent')).toHaveLength(1)
      await node.stop()
      const fresh = meter()
      providers.push(fresh.provider)
      otelMetrics.disable()
      otelMetrics.setGlobalMeterProvider(fresh.provider)
      const off = await createNode({ trust: [], metrics: false })
      members = [{ node: off } as Member]
      expect(points(await collect(fresh.reader), 'peer.node.messages.sent')).toHaveLength(0)
    } finally {
      otelMetrics.disable()
    }
  })

  it('without @opentelemetry/api installed, metrics are off and nothing throws', async () => {
    const missing = Object.assign(new Error("Cannot find package '@opentelemetry/api'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const logged: string[] = []
    const log = { ...silentLogger('t'), debug: (m: string) => void logged.push(m) }
    expect(await resolveMeterProvider(undefined, log, () => Promise.reject(missing))).toBeUndefined()
    expect(logged).toEqual(['@opentelemetry/api is not installed: metrics are off'])
    expect(
      await resolveMeterProvider(false, log, () => Promise.reject(new Error('never called'))),
    ).toBeUndefined()
  })

  it('invalid metrics options throw ConfigError', async () => {
    const bad: unknown[] = [
      1,
      null,
      { meterProvider: {} },
      { peerAttributes: 'yes' },
      { attributes: { a: {} } },
    ]
    for (const metrics of bad) {
      await expect(createNode({ trust: [], metrics: metrics as false })).rejects.toBeInstanceOf(ConfigError)
    }
  })
})

describe("a user's backend on a plain EventTarget", () => {
  it('cannot crash the node with malformed events, metrics on (a throwing listener there is an uncaught exception)', async () => {
    const { provider } = meter()
    providers.push(provider)
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const raw = new RawBackend()
    const node = await createNode({
      identity: ia,
      trust: [ib.id],
      discovery: raw as never,
      metrics: { meterProvider: provider },
    })
    try {
      for (const type of ['peer:discovered', 'peer:updated', 'peer:lost', 'discovery:error'])
        for (const detail of [null, { record: null }, { record: { id: ib.id } }]) raw.send(type, detail)
      raw.send('peer:discovered', { record: { id: ib.id, addresses: [{ host: '127.0.0.1', port: 9 }] } })
      expect(node.members().map((m) => m.id)).toEqual([ib.id])
      expect(node.discovery?.stats.invalidRecords).toBeGreaterThan(0)
    } finally {
      await node.stop()
    }
  })
})

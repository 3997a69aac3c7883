import {
  ConfigError,
  type Discovery,
  type DiscoveryBackend,
  type Logger,
  subscribe,
} from '@peer/discovery-core'
import { BoundedMap, errorMessage, eventRecordId } from '@peer/discovery-core/internal'
import type { PeerRegistryStats } from '@peer/registry'
import type { DatagramTotals } from './connection-counters.js'
import {
  NodeStoppedError,
  NoHandlerError,
  PeerUnavailableError,
  RemoteError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './errors.js'
import type {
  BatchObservableResultLike,
  CounterLike,
  HistogramLike,
  MeterLike,
  MeterProviderLike,
  MetricAttributesLike,
  NodeMetricsOptions,
  ObservableLike,
} from './meter-types.js'
import {
  backendStatInstruments,
  DISCOVERY_TIME_BUCKETS,
  LOST_REASONS,
  NODE_COUNTERS,
  REGISTRY_COUNTERS,
  REQUEST_BUCKETS,
  type StatInstrument,
} from './metric-names.js'
import type { NodeCounters, NodeStats, PeerInfo } from './types.js'

/** The meter name (instrumentation scope) of every instrument of the node. */
export const METER_NAME = '@peer/node'

/** Most peer ids remembered per backend (time-to-discover) and for time-to-lost. */
export const MAX_TRACKED_PEERS = 10_000

/** What the metrics read: snapshots the node, registry, discovery and transport keep anyway. */
export interface MetricsSources {
  /** The node, for `peer:up` / `peer:down`. */
  readonly events: EventTarget
  nodeStats(): Readonly<NodeStats>
  peers(): readonly PeerInfo[]
  registryStats(): Readonly<PeerRegistryStats> | undefined
  discovery(): Discovery | undefined
  engine(): string | undefined
  /** Datagrams over every connection the node has had (open ones now, closed ones at close). */
  datagrams(): DatagramTotals
}

/** Loads `@opentelemetry/api` (a variable specifier: the package is optional, and no type of it leaks). */
export type ApiImporter = () => Promise<unknown>
const API_PACKAGE = '@opentelemetry/api'
const importApi: ApiImporter = () => import(API_PACKAGE)

/** Throws `ConfigError` for a malformed `metrics` option. */
export function checkMetricsOptions(option: unknown): void {
  if (option === undefined || option === false) return
  if (typeof option !== 'object' || option === null)
    throw new ConfigError('metrics must be false or an object', { option: 'metrics' })
  const o = option as NodeMetricsOptions
  if (
    o.meterProvider !== undefined &&
    typeof (o.meterProvider as { getMeter?: unknown } | null)?.getMeter !== 'function'
  )
    throw new ConfigError('metrics.meterProvider must be an OpenTelemetry MeterProvider', {
      option: 'metrics.meterProvider',
    })
  if (o.peerAttributes !== undefined && typeof o.peerAttributes !== 'boolean')
    throw new ConfigError('metrics.peerAttributes must be a boolean', { option: 'metrics.peerAttributes' })
  if (o.attributes !== undefined) {
    if (typeof o.attributes !== 'object' || o.attributes === null)
      throw new ConfigError('metrics.attributes must be an object', { option: 'metrics.attributes' })
    for (const [k, v] of Object.entries(o.attributes)) {
      if (!['string', 'number', 'boolean'].includes(typeof v))
        throw new ConfigError(`metrics.attributes.${k} must be a string, number or boolean`, {
          option: `metrics.attributes.${k}`,
        })
    }
  }
}

/**
 * The provider to use: the one given, else the global one of `@opentelemetry/api` when that
 * package resolves, else none (metrics off). Never throws.
 */
export async function resolveMeterProvider(
  option: false | NodeMetricsOptions | undefined,
  log: Logger,
  importer: ApiImporter = importApi,
): Promise<MeterProviderLike | undefined> {
  if (option === false) return undefined
  if (option?.meterProvider !== undefined) return option.meterProvider
  try {
    const api = (await importer()) as { metrics?: { getMeterProvider?: () => MeterProviderLike } }
    const provider = api.metrics?.getMeterProvider?.()
    if (provider === undefined) log.debug('@opentelemetry/api has no metrics API: metrics are off')
    return provider
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      log.debug('@opentelemetry/api is not installed: metrics are off')
    else log.warn('@opentelemetry/api failed to load: metrics are off', { error: errorMessage(error) })
    return undefined
  }
}

/**
 * The node's instruments on the provider `option` names (or the global one), or `undefined` when
 * metrics are off. A provider that fails to create instruments is logged and leaves metrics off:
 * it never fails the node's start.
 */
export async function startNodeMetrics(
  option: false | NodeMetricsOptions | undefined,
  log: Logger,
  sources: MetricsSources,
): Promise<NodeMetrics | undefined> {
  const provider = await resolveMeterProvider(option, log)
  if (provider === undefined) return undefined
  try {
    return new NodeMetrics(provider, option || {}, sources, log)
  } catch (error) {
    log.warn('creating the metrics instruments failed: metrics are off', { error: errorMessage(error) })
    return undefined
  }
}

/** How a request ended, as the `peer.request.outcome` attribute. */
export function requestOutcome(error: unknown): string {
  if (error === undefined) return 'ok'
  if (error instanceof RequestTimeoutError) return 'timeout'
  if (error instanceof NoHandlerError) return 'no_handler'
  if (error instanceof RemoteError) return 'remote_error'
  if (error instanceof PeerUnavailableError) return 'unavailable'
  if (error instanceof NodeStoppedError) return 'stopped'
  if (error instanceof TooManyRequestsError) return 'rejected'
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return 'aborted'
  return 'error'
}

/**
 * The node's OpenTelemetry instruments. Counters and gauges are observed from the `stats`
 * snapshots in one batch callback at collection time (nothing is counted twice, and an idle node
 * costs nothing); the histograms are fed by events. `close()` unregisters everything.
 */
export class NodeMetrics {
  readonly #meter: MeterLike
  readonly #sources: MetricsSources
  readonly #log: Logger
  readonly #base: MetricAttributesLike
  readonly #perPeer: boolean
  readonly #observables: ObservableLike[] = []
  readonly #node = new Map<StatInstrument<NodeCounters>, ObservableLike>()
  readonly #registry = new Map<StatInstrument<PeerRegistryStats>, ObservableLike>()
  readonly #backendStats: Array<{
    backend: DiscoveryBackend
    read: (b: DiscoveryBackend) => unknown
    list: Array<{ path: string[]; observable: ObservableLike }>
  }> = []
  readonly #g: Record<string, ObservableLike> = {}
  readonly #events: CounterLike
  readonly #requestDuration: HistogramLike
  readonly #timeToDiscover: HistogramLike
  readonly #timeToLost: HistogramLike
  readonly #unsubscribe: Array<() => void> = []
  readonly #seen = new Map<string, Set<string>>()
  readonly #downAt = new BoundedMap<string, number>(MAX_TRACKED_PEERS)
  readonly #startedAt = performance.now()
  #closed = false

  constructor(
    provider: MeterProviderLike,
    options: NodeMetricsOptions,
    sources: MetricsSources,
    log: Logger,
  ) {
    this.#meter = provider.getMeter(METER_NAME)
    this.#sources = sources
    this.#log = log
    this.#base = { ...options.attributes }
    this.#perPeer = options.peerAttributes === true
    const m = this.#meter
    const observable = (
      kind: 'counter' | 'updown' | 'gauge',
      name: string,
      unit: string,
      description: string,
    ) => {
      const o =
        kind === 'counter'
          ? m.createObservableCounter(name, { unit, description })
          : kind === 'updown'
            ? m.createObservableUpDownCounter(name, { unit, description })
            : m.createObservableGauge(name, { unit, description })
      this.#observables.push(o)
      return o
    }
    for (const i of NODE_COUNTERS) this.#node.set(i, observable('counter', i.name, i.unit, i.description))
    for (const i of REGISTRY_COUNTERS)
      this.#registry.set(i, observable('counter', i.name, i.unit, i.description))
    const g = this.#g
    g.peers = observable('updown', 'peer.node.peers', '{peer}', 'Peers up now, by direction.')
    g.inFlight = observable(
      'updown',
      'peer.node.requests.in_flight',
      '{request}',
      'Requests sent and waiting for an answer now.',
    )
    g.unconfirmed = observable(
      'updown',
      'peer.node.messages.unconfirmed',
      '{message}',
      'Messages accepted by send whose delivery is not confirmed yet.',
    )
    g.streams = observable('updown', 'peer.node.streams.open', '{stream}', 'Byte streams open now.')
    g.engine = observable(
      'gauge',
      'peer.transport.engine',
      '1',
      'The QUIC engine that runs (value 1, attribute peer.transport.engine).',
    )
    g.datagrams = observable(
      'counter',
      'peer.transport.datagrams',
      '{datagram}',
      "UDP datagrams over the node's connections, open and closed, by network.io.direction (receive, transmit).",
    )
    g.discoveryPeers = observable(
      'updown',
      'peer.discovery.peers',
      '{peer}',
      'Peers the discovery aggregate tracks now (merged over backends).',
    )
    g.dropped = observable(
      'counter',
      'peer.discovery.records.dropped',
      '{record}',
      'Records dropped by discovery, by backend and reason (invalid, overflow).',
    )
    g.errors = observable(
      'counter',
      'peer.discovery.errors',
      '{error}',
      'Transient discovery failures (discovery:error), by backend.',
    )
    g.listenerErrors = observable(
      'counter',
      'peer.discovery.listener.errors',
      '{error}',
      'Discovery event listeners that threw (isolated), by backend.',
    )
    g.flaps = observable(
      'counter',
      'peer.discovery.flaps_suppressed',
      '{event}',
      'Losses cancelled because the peer came back within the hysteresis window.',
    )
    if (this.#perPeer) {
      g.peerRtt = observable('gauge', 'peer.node.peer.rtt', 's', 'Round-trip time to the peer.')
      g.peerMessagesSent = observable(
        'counter',
        'peer.node.peer.messages.sent',
        '{message}',
        'Envelopes sent to the peer on its current connection.',
      )
      g.peerMessagesReceived = observable(
        'counter',
        'peer.node.peer.messages.received',
        '{message}',
        'Envelopes received from the peer on its current connection.',
      )
      g.peerBytesSent = observable(
        'counter',
        'peer.node.peer.bytes.sent',
        'By',
        'Bytes sent to the peer on its current connection.',
      )
      g.peerBytesReceived = observable(
        'counter',
        'peer.node.peer.bytes.received',
        'By',
        'Bytes received from the peer on its current connection.',
      )
    }
    const discovery = sources.discovery()
    for (const backend of discovery?.backends ?? []) {
      const found = backendStatInstruments(backend)
      if (found === undefined) continue
      this.#backendStats.push({
        backend,
        read: found.read,
        list: found.stats.map((s) =>
          Object.assign(s, { observable: observable(s.kind, s.name, s.unit, s.description) }),
        ),
      })
    }
    this.#events = m.createCounter('peer.discovery.events', {
      unit: '{event}',
      description: 'Discovery events (discovered, updated, lost) emitted by each backend.',
    })
    this.#requestDuration = m.createHistogram('peer.node.request.duration', {
      unit: 's',
      description: 'Time from request() to its answer or failure, by outcome.',
      advice: { explicitBucketBoundaries: REQUEST_BUCKETS },
    })
    this.#timeToDiscover = m.createHistogram('peer.discovery.time_to_discover', {
      unit: 's',
      description:
        "Time from the node's discovery start to a backend's first peer:discovered for each peer id.",
      advice: { explicitBucketBoundaries: DISCOVERY_TIME_BUCKETS },
    })
    this.#timeToLost = m.createHistogram('peer.discovery.time_to_lost', {
      unit: 's',
      description: "Time from a peer's peer:down (connection lost) to a backend's peer:lost for it.",
      advice: { explicitBucketBoundaries: DISCOVERY_TIME_BUCKETS },
    })
    m.addBatchObservableCallback(this.#observe, this.#observables)
    this.#listen(discovery)
  }

  /** Records one finished `request()`: `error` undefined when it was answered. */
  requestDone(startedAt: number, error?: unknown): void {
    if (this.#closed) return
    this.#requestDuration.record((performance.now() - startedAt) / 1000, {
      ...this.#base,
      'peer.request.outcome': requestOutcome(error),
    })
  }

  /** Unregisters the callback and the listeners. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#unsubscribe.splice(0)) off()
    try {
      this.#meter.removeBatchObservableCallback(this.#observe, this.#observables)
    } catch (error) {
      this.#log.debug('removing the metrics callback failed', { error: errorMessage(error) })
    }
    this.#seen.clear()
    this.#downAt.clear()
  }

  #listen(discovery: Discovery | undefined): void {
    this.#unsubscribe.push(
      subscribe(this.#sources.events as Parameters<typeof subscribe>[0], {
        'peer:up': (e: Event) => this.#downAt.delete((e as CustomEvent<{ id: string }>).detail.id),
        'peer:down': (e: Event) => {
          const id = (e as CustomEvent<{ id: string }>).detail.id
          this.#downAt.set(id, performance.now())
        },
      }),
    )
    for (const backend of discovery?.backends ?? []) {
      const source = backend.source
      const attrs = (event: string) => ({
        ...this.#base,
        'peer.backend': source,
        'peer.discovery.event': event,
      })
      // a user's backend may send events of any shape (on a plain EventTarget a throwing listener is
      // an uncaught exception): what metrics cannot read is skipped (the aggregate counts it)
      this.#unsubscribe.push(
        subscribe(
          backend,
          {
            'peer:discovered': (e) => {
              this.#events.add(1, attrs('discovered'))
              const found = eventRecordId(e)
              if (found !== undefined) this.#firstSeen(source, found)
            },
            'peer:updated': () => this.#events.add(1, attrs('updated')),
            'peer:lost': (e) => {
              const reason = LOST_REASONS.has(e.detail?.reason) ? e.detail.reason : 'other'
              this.#events.add(1, { ...attrs('lost'), 'peer.lost.reason': reason })
              const lost = eventRecordId(e)
              const downAt = lost === undefined ? undefined : this.#downAt.get(lost)
              if (downAt !== undefined)
                this.#timeToLost.record((performance.now() - downAt) / 1000, {
                  ...this.#base,
                  'peer.backend': source,
                })
            },
          },
          () => {}, // never thrown; the aggregate reports the backend's malformed events
        ),
      )
    }
  }

  #firstSeen(source: string, id: string): void {
    let seen = this.#seen.get(source)
    if (seen === undefined) {
      seen = new Set()
      this.#seen.set(source, seen)
    }
    if (seen.has(id) || seen.size >= MAX_TRACKED_PEERS) return
    seen.add(id)
    this.#timeToDiscover.record((performance.now() - this.#startedAt) / 1000, {
      ...this.#base,
      'peer.backend': source,
    })
  }

  readonly #observe = (result: BatchObservableResultLike): void => {
    if (this.#closed) return
    const base = this.#base
    const g = this.#g
    try {
      const node = this.#sources.nodeStats()
      for (const [i, o] of this.#node) result.observe(o, node[i.key], base)
      const registry = this.#sources.registryStats()
      if (registry !== undefined) {
        for (const [i, o] of this.#registry) result.observe(o, registry[i.key], base)
      }
      const peers = this.#sources.peers()
      let inbound = 0
      let inFlight = 0
      let unconfirmed = 0
      let streams = 0
      for (const p of peers) {
        if (p.direction === 'inbound') inbound++
        inFlight += p.stats.inFlight
        unconfirmed += p.stats.unconfirmed
        streams += p.stats.byteStreams
        if (this.#perPeer) this.#observePeer(result, p)
      }
      result.observe(g.peers!, inbound, { ...base, 'peer.direction': 'inbound' })
      result.observe(g.peers!, peers.length - inbound, { ...base, 'peer.direction': 'outbound' })
      result.observe(g.inFlight!, inFlight, base)
      result.observe(g.unconfirmed!, unconfirmed, base)
      result.observe(g.streams!, streams, base)
      const engine = this.#sources.engine()
      if (engine !== undefined) result.observe(g.engine!, 1, { ...base, 'peer.transport.engine': engine })
      const datagrams = this.#sources.datagrams()
      result.observe(g.datagrams!, datagrams.received, { ...base, 'network.io.direction': 'receive' })
      result.observe(g.datagrams!, datagrams.sent, { ...base, 'network.io.direction': 'transmit' })
      this.#observeDiscovery(result)
    } catch (error) {
      this.#log.debug('observing metrics failed', { error: errorMessage(error) })
    }
  }

  #observePeer(result: BatchObservableResultLike, p: PeerInfo): void {
    const g = this.#g
    const attrs = { ...this.#base, 'peer.id': p.id, ...(p.name === undefined ? {} : { 'peer.name': p.name }) }
    if (p.stats.rtt !== undefined) result.observe(g.peerRtt!, p.stats.rtt / 1000, attrs)
    result.observe(g.peerMessagesSent!, p.stats.messagesSent, attrs)
    result.observe(g.peerMessagesReceived!, p.stats.messagesReceived, attrs)
    result.observe(g.peerBytesSent!, p.stats.bytesSent, attrs)
    result.observe(g.peerBytesReceived!, p.stats.bytesReceived, attrs)
  }

  #observeDiscovery(result: BatchObservableResultLike): void {
    const discovery = this.#sources.discovery()
    if (discovery === undefined) return
    const base = this.#base
    const g = this.#g
    const total = discovery.stats
    let invalid = 0
    let overflow = 0
    let listenerErrors = 0
    for (const b of discovery.backends) {
      const s = b.stats
      const attrs = { ...base, 'peer.backend': b.source }
      invalid += s.invalidRecords
      overflow += s.overflowDrops
      listenerErrors += s.listenerErrors
      result.observe(g.dropped!, s.invalidRecords, { ...attrs, 'peer.drop.reason': 'invalid' })
      result.observe(g.dropped!, s.overflowDrops, { ...attrs, 'peer.drop.reason': 'overflow' })
      result.observe(g.errors!, s.errors, attrs)
      result.observe(g.listenerErrors!, s.listenerErrors, attrs)
    }
    // what the aggregate itself dropped (its counters are its own plus the backends')
    const own = { ...base, 'peer.backend': discovery.source }
    result.observe(g.dropped!, total.invalidRecords - invalid, { ...own, 'peer.drop.reason': 'invalid' })
    result.observe(g.dropped!, total.overflowDrops - overflow, { ...own, 'peer.drop.reason': 'overflow' })
    result.observe(g.listenerErrors!, total.listenerErrors - listenerErrors, own)
    result.observe(g.flaps!, total.flapsSuppressed, base)
    result.observe(g.discoveryPeers!, discovery.size, base)
    for (const { backend, read, list } of this.#backendStats) {
      const snapshot = read(backend)
      const attrs = { ...base, 'peer.backend': backend.source }
      for (const { path, observable } of list) {
        let value: unknown = snapshot
        for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key]
        if (typeof value === 'number' && Number.isFinite(value)) result.observe(observable, value, attrs)
      }
    }
  }
}

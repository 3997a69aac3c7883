import {
  type AbortOptions,
  type Discovery,
  type Logger,
  type PeerAddress,
  shortId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import { componentLogger, errorMessage } from '@peer/discovery-core/internal'
import { type Identity, TrustList } from '@peer/identity'
// biome-ignore lint/style/useImportType: `import type` would change the API report's imports
import { type PeerRegistryStats, type PeerStatus } from '@peer/registry'
import type { ConnectionPolicy } from './connection-policy.js'
import { NodeError, NodeStoppedError } from './errors.js'
import { checkMetricsOptions, type NodeMetrics, startNodeMetrics } from './metrics.js'
import { HandlerTable } from './node-handlers.js'
import type { NodeLinks } from './node-links.js'
import type { NodeMessaging } from './node-messaging.js'
import { callTimeout, type NodeLimits } from './node-options.js'
import {
  announceNode,
  emptyNodeCounters,
  emptyParts,
  type NodeParts,
  type NodeWiring,
  startNode,
  wireNode,
} from './node-start.js'
import { teardown } from './node-stop.js'
import { checkNodeOptionShapes } from './option-shapes.js'
import { PeerLink } from './peer-link.js'
import type { ServiceDirectory, ServiceStats, ServiceTarget } from './services.js'
import type { PeerStream, StreamHandler } from './stream-registry.js'
import type {
  HandleOptions,
  Handler,
  MemberInfo,
  NodeCounters,
  NodeEvents,
  NodeOptions,
  NodeState,
  NodeStats,
  OpenStreamOptions,
  PeerInfo,
  RequestOptions,
  SendOptions,
  StopOptions,
} from './types.js'
import { waitForUp } from './wait-for-peer.js'

export { MAX_HANDLERS } from './node-handlers.js'
export { TRUST_ALL_WARNING } from './node-start.js'

/**
 * One node of a peer cluster: transport, discovery and the peer registry wired together, with
 * topic messaging (`send`, `request`, `handle`), `peer:up` / `peer:down` events, a `peers()`
 * snapshot with per-peer counters, and a graceful `stop()`. Use `createNode`; a node is
 * started once and stopped once.
 */
export class PeerNode extends TypedEventTarget<NodeEvents> {
  readonly #options: NodeOptions
  readonly #log: Logger
  readonly #handlers = new HandlerTable()
  readonly #peerLinks: NodeLinks
  readonly #stats: NodeCounters = emptyNodeCounters()
  readonly #limits: NodeLimits
  readonly #policy: ConnectionPolicy
  #state: NodeState | 'new' = 'new'
  #trust: TrustList | undefined
  readonly #parts: NodeParts = emptyParts()
  #stopping: Promise<void> | undefined
  readonly #lifetime = new AbortController()
  readonly #unsubscribe: Array<() => void> = []
  readonly #services: ServiceDirectory
  readonly #wiring: NodeWiring
  readonly #messaging: NodeMessaging

  /** Use `createNode`. Validates the options; nothing starts until `start()`. */
  constructor(options: NodeOptions) {
    super()
    checkNodeOptionShapes(options)
    this.#options = options
    this.#log = componentLogger(options.logger, 'peer:node')
    this.onListenerError = (error, type) =>
      this.#log.warn('event listener threw', { type, error: errorMessage(error) })
    this.#wiring = wireNode(options, {
      log: this.#log,
      stats: this.#stats,
      lifetime: this.#lifetime.signal,
      id: () => this.id,
      trusted: (id) => options.trust === 'all' || this.#trust?.has(id) === true,
      started: () => this.#state === 'started',
      assertStarted: () => this.#assertStarted(),
      metrics: () => this.#parts.metrics,
      registry: () => this.#parts.registry,
      discovery: () => this.#parts.discovery,
      handlers: this.#handlers,
      localName: () => this.#parts.name,
      announce: (announceOptions) => this.#announce(announceOptions),
      request: (id, topic, payload, requestOptions) => this.request(id, topic, payload, requestOptions),
      emit: (type, detail) => this.emit(type, detail),
    })
    this.#services = this.#wiring.services
    this.#limits = this.#wiring.limits
    this.#policy = this.#wiring.policy
    this.#peerLinks = this.#wiring.links
    this.#messaging = this.#wiring.messaging
    checkMetricsOptions(options.metrics)
    if (options.trust !== 'all' && !(options.trust instanceof TrustList)) {
      this.#trust = new TrustList(options.trust)
    } else if (options.trust instanceof TrustList) {
      this.#trust = options.trust
    }
  }

  /** This node's id. */
  get id(): string {
    return this.#parts.identity?.id ?? ''
  }

  /** This node's identity; throws `NodeError` before `start()`. */
  get identity(): Identity {
    if (this.#parts.identity === undefined) throw new NodeError('the node is not started')
    return this.#parts.identity
  }

  /** This node's name (`name@host` or `port@ip`). */
  get name(): string {
    return this.#parts.name
  }

  /** The bound listener address (the real port when 0 was asked for); throws `NodeError` before `start()`. */
  get address(): PeerAddress {
    const a = this.#parts.listener?.address
    if (a === undefined) throw new NodeError('the node is not started')
    return { host: a.host, port: a.port }
  }

  /** The addresses announced to discovery. */
  get addresses(): readonly PeerAddress[] {
    return this.#parts.addresses
  }

  /** `started`, `stopping` or `stopped`. */
  get state(): NodeState {
    return this.#state === 'new' ? 'stopped' : this.#state
  }

  /** The trust list in use (`undefined` with `trust: 'all'`). Changes to it apply live. */
  get trust(): TrustList | undefined {
    return this.#trust
  }

  /** Node-wide counters. */
  get stats(): Readonly<NodeStats> {
    return {
      ...this.#stats,
      refusedOverCap: this.#parts.registry?.stats.refusedOverCap ?? 0,
      evictions: this.#parts.registry?.stats.evictions ?? 0,
      engine: this.#parts.transport?.engine,
      engineFallbackReason: this.#parts.transport?.engineFallbackReason,
    }
  }

  /** The aggregate discovery the node runs. */
  get discovery(): Discovery | undefined {
    return this.#parts.discovery
  }

  /**
   * Every peer the registry tracks (trusted peers that discovery reported or that connected), up
   * or not: state, addresses with the sources that reported them, dial attempts, last error. A
   * read-only snapshot (what `peer status` shows); `peers()` is the connected ones with counters.
   */
  knownPeers(): PeerStatus[] {
    return this.#parts.registry?.peers() ?? []
  }

  /** The peer registry's counters (dials, failures, duplicates closed, ...): a read-only snapshot. */
  get registryStats(): Readonly<PeerRegistryStats> | undefined {
    return this.#parts.registry?.stats
  }

  /**
   * Starts everything. Called by `createNode`; a node starts once. `signal` cancels the
   * start: it rejects with an `AbortError` and the node is left stopped (what had started is torn
   * down).
   */
  async start(options: AbortOptions = {}): Promise<void> {
    if (this.#state !== 'new') throw new NodeError('a node is started once; create a new one')
    throwIfAborted(options.signal)
    this.#state = 'started'
    try {
      await startNode({
        signal: options.signal,
        options: this.#options,
        log: this.#log,
        parts: this.#parts,
        trust: this.#trust,
        wiring: this.#wiring,
        unsubscribe: this.#unsubscribe,
        createMetrics: () => this.#createMetrics(),
        announce: (announceOptions) => this.#announce(announceOptions),
      })
    } catch (error) {
      await this.#teardown(1000).catch(() => {})
      this.#state = 'stopped'
      throw error
    }
  }

  // ---- named services (services.ts) ----

  /**
   * Publishes that this node provides `service`: announces the node again through every
   * discovery backend that can announce, with the name added to its record's `meta.services`.
   * Throws `InvalidServiceNameError` or `ServiceListTooLargeError` (from `@peer/discovery-core`);
   * rejects when the announcement fails. With no backend that can announce (only static lists or
   * DNS), the other nodes learn of it only from their own lists: logged once at `warn`.
   */
  async provide(service: string, options: AbortOptions = {}): Promise<void> {
    this.#assertStarted()
    await this.#services.provide(service, options)
  }

  /** Stops publishing `service` (announces the node again without it). */
  async unprovide(service: string, options: AbortOptions = {}): Promise<void> {
    this.#assertStarted()
    await this.#services.unprovide(service, options)
  }

  /** The services this node provides. */
  get provided(): readonly string[] {
    return this.#services.provided
  }

  /**
   * The trusted members (node ids, this node excluded) whose discovery records list `service`,
   * live: `provider:added` / `provider:removed` tell when the set changes. Sorted by id; with
   * `{ ordered: true }`, in the order `request({ service })` tries them now: connected ones first,
   * by how long their answers take at best (at least 10 ms) times one more than their requests in
   * flight, ties in random order; then those not connected; those whose connection is stalled now
   * last.
   *
   * @param service - the service name
   * @param options - `ordered`: the order `request({ service })` tries the providers in
   */
  providers(service: string, options: { ordered?: boolean } = {}): string[] {
    return options.ordered === true ? this.#services.order(service) : this.#services.providers(service)
  }

  /**
   * Service names and lists the node itself dropped from discovery records (counted, never
   * thrown): only from backends not built on `AbstractDiscoveryBackend`; the others drop and count
   * them first (`discovery.stats.droppedServiceNames` / `droppedServiceLists`).
   */
  get serviceStats(): Readonly<ServiceStats> {
    return this.#services.stats
  }

  /** The record this node announces (its `meta` with the services it provides). */
  #announce(options: AbortOptions): Promise<void> {
    return announceNode(this.#parts, this.id, this.#options.meta, this.#services, options)
  }

  // ---- handlers ----

  /**
   * Sets the handler of `topic` (one per topic) and returns a function that removes it. A second
   * `handle` for the same topic throws {@link HandlerExistsError}; a bad topic
   * `InvalidTopicError`, a bad `priority` `ConfigError`.
   */
  handle<In = unknown, Out = unknown>(
    topic: string,
    handler: Handler<In, Out>,
    options: HandleOptions = {},
  ): () => void {
    return this.#handlers.handle(topic, handler as Handler, options, (t) => this.unhandle(t))
  }

  /** Removes the handler of `topic` (and its priority). Returns whether there was one. */
  unhandle(topic: string): boolean {
    return this.#handlers.unhandle(topic)
  }

  /**
   * Accepts byte streams a peer opens on `topic` with `openStream` (one handler per topic: a second
   * throws {@link HandlerExistsError}) and returns a function that removes it. A handler that
   * throws or rejects resets its stream.
   */
  handleStream(topic: string, handler: StreamHandler): () => void {
    return this.#handlers.handleStream(topic, handler)
  }

  /**
   * Opens a duplex byte stream to `peer` (node id or name) on `topic`: web streams with QUIC
   * backpressure. Resolves once the peer accepted it; rejects with `StreamRefusedError` (no stream
   * handler for the topic, too many streams, stopping), `TooManyRequestsError` (over
   * `maxByteStreams` here), `PeerUnavailableError`, `NodeStoppedError`, an `AbortError`, or a
   * `TimeoutError` (`DOMException`) when the peer does not answer within `helloTimeoutMs`.
   * Streams are reset when the connection ends or the node stops.
   */
  openStream(peer: string, topic: string, options: OpenStreamOptions = {}): Promise<PeerStream> {
    return this.#messaging.openStream(peer, topic, options)
  }

  // ---- messaging ----

  /**
   * Sends a fire-and-forget message to `peer` (node id or name). Resolves once the message is
   * queued for the peer; messages to one peer on one topic (at one priority) arrive in the order
   * they were sent. Rejects with `PeerUnavailableError`, `NodeStoppedError`, `MessageTooLargeError`,
   * `EncodeError`, `TooManyRequestsError`, `InvalidTopicError`, or an `AbortError` when `signal`
   * aborts before the message is queued (while a dial runs). A member whose dial is in flight (or
   * any member, with `connect: 'on-demand'`) is waited for, within `requestTimeoutMs`; one that
   * backs off after failed dials fails at once (as with every call: `request`, `ping`, `openStream`).
   */
  send(peer: string, topic: string, payload: unknown, options: SendOptions = {}): Promise<void> {
    return this.#messaging.send(peer, topic, payload, options)
  }

  /**
   * Sends a request to `peer` (node id or name) and resolves with the handler's answer. Rejects
   * with `RequestTimeoutError` after `timeoutMs`, an `AbortError` when `signal` aborts,
   * `RemoteError` when the remote handler threw, `NoHandlerError`, `PeerUnavailableError`,
   * `NodeStoppedError`, or (as `send`) `TooManyRequestsError`, `MessageTooLargeError`, `EncodeError`.
   *
   * With `{ service: name }` instead of a peer, a provider of the service is picked (a connected
   * one, by how fast it answers and its requests in flight: load spreads over providers answering
   * within 10 ms; then random) and the next one is tried when it is unavailable
   * (`PeerUnavailableError`) or its connection is found stalled with the request in flight (see
   * `stallTimeoutMs`), within the one `timeoutMs`; `ServiceUnavailableError` when none was.
   */
  request<T = unknown>(
    peer: string | ServiceTarget,
    topic: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<T> {
    return this.#messaging.request(peer, topic, payload, options) as Promise<T>
  }

  /**
   * Sends `payload` on `topic` to every peer that is up; resolves with how many it was queued for.
   * `priority` picks the lane as for `send`; an aborted `signal` rejects before anything is sent.
   */
  broadcast(topic: string, payload: unknown, options: SendOptions = {}): Promise<number> {
    return this.#messaging.broadcast(topic, payload, options)
  }

  /**
   * Measures the round-trip time to `peer` in ms (an application-level ping on the control lane).
   * Rejects as `request` does: `RequestTimeoutError` after `timeoutMs` (default `requestTimeoutMs`).
   */
  ping(peer: string, options: RequestOptions = {}): Promise<number> {
    return this.#messaging.ping(peer, options)
  }

  /**
   * Every member: a discovered, trusted peer, connected or not (with `connect: 'on-demand'` most
   * are not). `peers()` lists the connections that are up.
   */
  members(): MemberInfo[] {
    return (this.#parts.registry?.peers() ?? [])
      .filter((s) => s.discovered)
      .map((s) => ({
        id: s.id,
        name: s.name,
        addresses: s.addresses.map((a) => ({ host: a.host, port: a.port })),
        sources: [...new Set(s.addresses.flatMap((a) => a.sources))],
        connected: this.#peerLinks.links.has(s.id),
        lastUsed: this.#policy.lastUsed(s.id),
        services: this.#services.servicesOf(s.id),
      }))
  }

  /** A snapshot of every peer that is up. */
  peers(): PeerInfo[] {
    return [...this.#peerLinks.links.values()].map((l) => l.info(this.#parts.registry?.status(l.id)?.name))
  }

  /** A snapshot of one peer that is up, by node id or name; `undefined` when it is not up. */
  peer(idOrName: string): PeerInfo | undefined {
    const link = this.#peerLinks.find(idOrName)
    return link instanceof PeerLink ? link.info(this.#parts.registry?.status(link.id)?.name) : undefined
  }

  /**
   * Resolves with the peer's snapshot once `peer` (node id or name) is up: at once when it
   * already is. It never dials (with `connect: 'on-demand'`, a member comes up only when used).
   * Rejects with `PeerUnavailableError` after `timeoutMs` (default: `requestTimeoutMs`),
   * an `AbortError` when `signal` aborts, or `NodeStoppedError` when the node stops.
   */
  async waitForPeer(peer: string, options: RequestOptions = {}): Promise<PeerInfo> {
    this.#assertStarted()
    throwIfAborted(options.signal)
    const now = this.peer(peer)
    if (now !== undefined) return now
    const timeout = callTimeout(options, this.#limits.requestTimeout, 'waitForPeer')
    return waitForUp(
      this,
      () => this.peer(peer),
      timeout,
      this.#lifetime.signal,
      options.signal,
      (detail) => this.#wiring.notUp(peer, detail),
    )
  }

  // ---- stopping ----

  /**
   * Stops, within one deadline (`timeoutMs`, default the node's `stopTimeoutMs`):
   * 1. refuses new connections (closed with `shutdown`) and stops dialing and redialing;
   * 2. withdraws from discovery and refuses new requests from peers (they fail with
   *    `PeerUnavailableError`, reason `shutdown`) while requests in flight, running handlers and
   *    queued messages finish, keeping the last quarter of the deadline (at most 1 s) for step 3;
   * 3. fails what is left with `NodeStoppedError`, flushes and finishes its channels, and closes
   *    every connection at once with code `SHUTDOWN` and reason `shutdown` (peers report
   *    `peer:down` with reason `shutdown` and do not redial it until it is announced again), the
   *    listener, the transport and discovery.
   * Every wait is bounded by the deadline: when it passes, everything has been told to close and
   * `stop()` resolves. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    const timeout = callTimeout(options, this.#limits.stopTimeout, 'stop')
    if (this.#state === 'new') {
      this.#state = 'stopped'
      this.#stopping = Promise.resolve()
      return this.#stopping
    }
    this.#state = 'stopping'
    this.#lifetime.abort(new NodeStoppedError())
    this.#stopping = this.#teardown(timeout, options.signal).finally(() => {
      this.#state = 'stopped'
      this.#log.info('node stopped', { id: shortId(this.id) })
    })
    return this.#stopping
  }

  /** Stops the node, as `stop()` with no options does (deadline `stopTimeoutMs`); for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  #teardown(timeout: number, signal?: AbortSignal): Promise<void> {
    return teardown(
      {
        log: this.#log,
        links: this.#peerLinks,
        policy: this.#policy,
        unsubscribe: this.#unsubscribe,
        listener: () => this.#parts.listener,
        registry: () => this.#parts.registry,
        discovery: () => this.#parts.discovery,
        transport: () => this.#parts.transport,
        metrics: () => this.#parts.metrics,
      },
      timeout,
      signal,
    )
  }

  /** The OpenTelemetry instruments (see `metrics.ts`), or `undefined` when metrics are off. */
  async #createMetrics(): Promise<NodeMetrics | undefined> {
    const metrics = await startNodeMetrics(this.#options.metrics, this.#log, {
      events: this,
      nodeStats: () => this.stats,
      peers: () => this.peers(),
      registryStats: () => this.#parts.registry?.stats,
      discovery: () => this.#parts.discovery,
      engine: () => this.#parts.transport?.engine,
      datagrams: () => this.#wiring.connections.datagrams(),
    })
    // stopped while the API loaded: nothing may stay registered
    if (this.#state !== 'started') metrics?.close()
    return this.#state === 'started' ? metrics : undefined
  }

  #assertStarted(): void {
    if (this.#state !== 'started') throw new NodeStoppedError(`the node is ${this.state}`)
  }
}

// The constructor wiring and the start sequence of a PeerNode: the service directory, connection
// policy, links and messaging wired together; identity, transport, discovery, registry, metrics and
// listener brought up in order.

import {
  type AbortOptions,
  Discovery,
  type DiscoveryBackend,
  type Logger,
  type PeerAddress,
  SERVICES_META_KEY,
  shortId,
  subscribe,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { generateIdentity, type Identity, loadOrCreateIdentity, type TrustList } from '@peer/identity'
import { PeerRegistry } from '@peer/registry'
import { type Connection, createTransport, type Listener, type Transport } from '@peer/transport-quic'
import { type AbsenceView, absenceError } from './absence.js'
import { ConnectionCounters } from './connection-counters.js'
import { ConnectionPolicy } from './connection-policy.js'
import { encodeEnvelope } from './envelope.js'
import type { PeerUnavailableError } from './errors.js'
import type { LinkHost } from './link-host.js'
import { announcedAddresses, resolveName } from './local-addresses.js'
import type { NodeMetrics } from './metrics.js'
import type { HandlerTable } from './node-handlers.js'
import { NodeLinks, type NodeLinksContext } from './node-links.js'
import { NodeMessaging } from './node-messaging.js'
import {
  connectTimeoutOption,
  lostHysteresisOption,
  type NodeLimits,
  resolveNodeSettings,
} from './node-options.js'
import { knownSettings, NESTED_OPTION_KEYS } from './option-shapes.js'
import { ServiceDirectory, type ServiceHost } from './services.js'
import type { NodeCounters, NodeOptions } from './types.js'

/** The warning logged (and emitted as a process warning) for `trust: 'all'`. */
export const TRUST_ALL_WARNING =
  "peer: trust: 'all' accepts ANY node that can reach this one. Use it for demos only; pass a trust list in production."

/** What `start()` brings up, set as it goes (the stop sequence reads what is there). @internal */
export interface NodeParts {
  identity: Identity | undefined
  transport: Transport | undefined
  listener: Listener | undefined
  registry: PeerRegistry<Connection> | undefined
  discovery: Discovery | undefined
  metrics: NodeMetrics | undefined
  name: string
  addresses: PeerAddress[]
}

/** What the constructor wiring needs from its node. @internal */
export interface WiringHost {
  readonly log: Logger
  readonly stats: NodeCounters
  /** Aborted when the node stops. */
  readonly lifetime: AbortSignal
  id(): string
  trusted(id: string): boolean
  started(): boolean
  assertStarted(): void
  /** The node's instruments, when metrics are on. */
  metrics(): NodeMetrics | undefined
  registry(): PeerRegistry<Connection> | undefined
  discovery(): Discovery | undefined
  readonly handlers: HandlerTable
  /** The node's name (known once the listener is bound). */
  localName(): string
  announce(options: AbortOptions): Promise<void>
  request: ServiceHost['request']
  emit: NodeLinksContext['emit']
}

/** The pieces the constructor wires together. @internal */
export interface NodeWiring {
  readonly services: ServiceDirectory
  readonly policy: ConnectionPolicy
  readonly links: NodeLinks
  /** send, request, broadcast, ping and byte streams over the links. */
  readonly messaging: NodeMessaging
  /** The engine counters of every connection the node has had. */
  readonly connections: ConnectionCounters
  readonly limits: NodeLimits
  readonly onDemand: boolean
  readonly maxConnections: number
  /** The error of a call that needs `ref` up when it is not (see `absenceError`). */
  notUp(ref: string, detail: string, cause?: unknown): PeerUnavailableError
}

/**
 * Validates the settings and wires the service directory, connection policy, links and messaging.
 * @internal
 */
export function wireNode(options: NodeOptions, host: WiringHost): NodeWiring {
  const services = new ServiceDirectory({
    log: host.log,
    self: () => host.id(),
    trusted: (id) => host.trusted(id),
    connected: (id) => links.links.has(id),
    load: (id) => links.links.get(id)?.load(),
    nextStall: (id) => links.links.get(id)?.nextStall(),
    announce: (_services, announceOptions) => host.announce(announceOptions),
    announcers: () => {
      const backends = host.discovery()?.backends ?? []
      return {
        sources: backends.map((b) => b.source),
        any: backends.some((b) => b.capabilities.has('announce')),
      }
    },
    request: (id, topic, payload, requestOptions) => host.request(id, topic, payload, requestOptions),
    link: async (id, timeoutMs, signal) => {
      await links.linkFor(id, timeoutMs, signal)
    },
    emit: (type, detail) => host.emit(type, detail),
  })
  const settings = resolveNodeSettings(options)
  const policy = new ConnectionPolicy(
    {
      links: () => links.links.values(),
      release: (link, reason) => links.release(link, reason),
    },
    settings.onDemand ? settings.idleCloseMs : undefined,
  )
  const absence: AbsenceView = {
    self: () => host.id(),
    trusted: (id) => host.trusted(id),
    status: (id) => host.registry()?.status(id),
    peers: () => host.registry()?.peers() ?? [],
    discovered: () => host.discovery()?.snapshot(),
    backendErrors: () => host.discovery()?.lastErrors() ?? [],
    onDemand: settings.onDemand,
  }
  const notUp = (ref: string, detail: string, cause?: unknown) => absenceError(ref, detail, absence, cause)
  const links: NodeLinks = new NodeLinks({
    notUp,
    log: host.log,
    stats: host.stats,
    policy,
    onDemand: settings.onDemand,
    maxWaiting: settings.limits.maxQueuedMessages,
    lifetime: host.lifetime,
    started: () => host.started(),
    assertStarted: () => host.assertStarted(),
    registry: () => host.registry(),
    host: (): LinkHost => ({
      handler: (topic) => host.handlers.handler(topic),
      streamHandler: (topic) => host.handlers.streamHandler(topic),
      topicPriority: (topic) => host.handlers.priority(topic),
      dropped: (link, topic, count) =>
        host.emit('message:dropped', { peer: link.id, name: link.name, topic, count }),
      handlerFailed: (from, topic, kind, error) =>
        host.emit('handler:failed', { peer: from.id, name: from.name, topic, kind, error }),
      stalled: (link, recovered) => links.onStalled(link, recovered),
      suspect: (link, trigger) => links.suspect(link, trigger),
      stopping: () => !host.started(),
      bulkWindowScaling: options.bulkWindowScaling ?? true,
      stats: host.stats,
      log: host.log,
      localName: host.localName(),
      localId: host.id(),
      ...settings.limits,
    }),
    emit: (type, detail) => host.emit(type, detail),
  })
  return {
    services,
    policy,
    links,
    messaging: new NodeMessaging({
      links,
      limits: settings.limits,
      services,
      metrics: () => host.metrics(),
      assertStarted: () => host.assertStarted(),
    }),
    connections: new ConnectionCounters(),
    limits: settings.limits,
    onDemand: settings.onDemand,
    maxConnections: settings.maxConnections,
    notUp,
  }
}

/** What the start sequence needs. @internal */
export interface StartContext {
  /** Cancels the start (each step checks it; the caller tears down what started). */
  readonly signal: AbortSignal | undefined
  readonly options: NodeOptions
  readonly log: Logger
  readonly parts: NodeParts
  readonly trust: TrustList | undefined
  readonly wiring: NodeWiring
  /** The node's unsubscribers (run by the stop sequence). */
  readonly unsubscribe: Array<() => void>
  createMetrics(): Promise<NodeMetrics | undefined>
  announce(options: AbortOptions): Promise<void>
}

/**
 * The start sequence (see PeerNode.start): identity, transport, discovery, registry, metrics,
 * listener, then discovery started and the node announced. Sets `ctx.parts` as it goes; on a
 * throw the caller tears down what is there. @internal
 */
export async function startNode(ctx: StartContext): Promise<void> {
  const { options, parts, wiring, signal } = ctx
  parts.identity = await resolveIdentity(options.identity, signal)
  throwIfAborted(signal)
  const id = parts.identity.id
  const trustAll = options.trust === 'all'
  if (trustAll) {
    ctx.log.warn(TRUST_ALL_WARNING)
    process.emitWarning(TRUST_ALL_WARNING, { code: 'PEER_TRUST_ALL' })
  }
  if (options.idleCloseMs !== undefined && (options.connect ?? 'mesh') === 'mesh') {
    ctx.log.warn("idleCloseMs applies to connect: 'on-demand' only; a mesh keeps its connections", {
      idleCloseMs: options.idleCloseMs,
    })
  }
  const trustList = ctx.trust
  const predicate = trustAll ? () => true : (peer: string) => trustList!.has(peer)
  parts.transport = createTransport({
    ...connectTimeoutOption(options, (message, fields) => ctx.log.warn(message, fields)),
    ...knownSettings(options.transport, NESTED_OPTION_KEYS.transport),
    identity: parts.identity,
    trust: predicate,
    channel: { maxFrameSize: wiring.limits.maxMessageSize },
    maxProtocolErrors: wiring.limits.maxProtocolErrors,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  })
  const backends: DiscoveryBackend[] =
    options.discovery === undefined
      ? []
      : Array.isArray(options.discovery)
        ? [...(options.discovery as readonly DiscoveryBackend[])]
        : [options.discovery as DiscoveryBackend]
  if (backends.length > 0) {
    parts.discovery = new Discovery({
      backends,
      self: id,
      ...lostHysteresisOption(options),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    })
    ctx.unsubscribe.push(wiring.services.attach(parts.discovery))
  }
  const transport = parts.transport
  parts.registry = new PeerRegistry<Connection>({
    self: id,
    transport: {
      dial: async (address, dialOptions) => {
        const connection = await transport.dial(address, dialOptions)
        wiring.connections.track(connection)
        return connection
      },
      reportsDialCommit: transport.reportsDialCommit === true,
    },
    trust: trustAll ? () => true : trustList!,
    discovery: parts.discovery,
    connect: wiring.onDemand ? 'on-demand' : 'mesh',
    maxConnections: wiring.maxConnections,
    evictIdle: () => wiring.links.evictIdle(),
    ...knownSettings(options.registry, NESTED_OPTION_KEYS.registry),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  })
  parts.metrics = await ctx.createMetrics()
  throwIfAborted(signal)
  // the registry runs before the listener binds, and the listener is wired and the name known
  // in the same tick as the bind: no inbound connection is refused or goes unseen
  await parts.registry.start({ signal })
  const listen = { host: options.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? 0 }
  parts.listener = await parts.transport.listen(listen)
  throwIfAborted(signal)
  parts.addresses = [...(options.announce ?? announcedAddresses(parts.listener.address))]
  parts.name = resolveName(options.name, parts.addresses[0] ?? parts.listener.address)
  // the node's hello rides in the transport's handshake confirmation: a link to a peer that does
  // the same is up as soon as its connection is (connections confirmed before this line, and
  // peers of versions without it, exchange hellos on the control lane instead). On an inbound
  // connection the registry promises, when it can, to keep it (`adopted`): a dialer with the
  // higher id then need not wait for proof that it won no simultaneous dial (see link-hello.ts)
  const hello = { kind: 'hello', name: parts.name, maxMessageSize: wiring.limits.maxMessageSize } as const
  const plain = encodeEnvelope(hello, Infinity)
  const adopted = encodeEnvelope({ ...hello, adopted: true }, Infinity)
  const registry = parts.registry
  parts.transport.setHello((peer) =>
    peer.direction === 'inbound' && registry.expectInbound(peer.id, peer.confirmed) ? adopted : plain,
  )
  ctx.unsubscribe.push(
    ...wiring.links.wire(parts.listener, parts.registry),
    subscribe(parts.listener, { connection: (event) => wiring.connections.track(event.detail.connection) }),
  )
  wiring.policy.start()
  if (parts.discovery !== undefined) {
    await parts.discovery.start({ signal })
    throwIfAborted(signal)
    await ctx
      .announce({ signal })
      .catch((error: unknown) => ctx.log.warn('announce failed', { error: errorMessage(error) }))
  }
  ctx.log.info('node started', { id: shortId(id), name: parts.name, address: parts.listener.address })
}

async function resolveIdentity(
  option: Identity | string | undefined,
  signal: AbortSignal | undefined,
): Promise<Identity> {
  if (option === undefined) return generateIdentity()
  if (typeof option === 'string') return (await loadOrCreateIdentity(option, { signal })).identity
  return option
}

/** A node's counters, all zero. @internal */
export function emptyNodeCounters(): NodeCounters {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    malformed: 0,
    unexpected: 0,
    unhandled: 0,
    rejected: 0,
    handlerErrors: 0,
    peersUp: 0,
    peersDown: 0,
    messagesDropped: 0,
    protocolErrors: 0,
    stalls: 0,
    stallRecoveries: 0,
    probes: 0,
    probeFailures: 0,
    refusedOverCap: 0,
    evictions: 0,
    idleCloses: 0,
  }
}

/** A node's parts before `start()`. @internal */
export function emptyParts(): NodeParts {
  return {
    identity: undefined,
    transport: undefined,
    listener: undefined,
    registry: undefined,
    discovery: undefined,
    metrics: undefined,
    name: '',
    addresses: [],
  }
}

/**
 * Announces the node's record (its `meta` with the services it provides) through discovery; does
 * nothing while discovery is not running. @internal
 */
export async function announceNode(
  parts: NodeParts,
  id: string,
  baseMeta: NodeOptions['meta'],
  services: ServiceDirectory,
  options: AbortOptions,
): Promise<void> {
  if (parts.discovery === undefined || !parts.discovery.started) return
  const value = services.metaValue()
  const meta = { ...baseMeta }
  if (value === undefined) delete meta[SERVICES_META_KEY]
  else meta[SERVICES_META_KEY] = value
  await parts.discovery.announce(
    {
      id,
      name: parts.name,
      addresses: parts.addresses,
      ...(Object.keys(meta).length === 0 ? {} : { meta }),
    },
    options,
  )
}

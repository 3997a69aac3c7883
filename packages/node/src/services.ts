import {
  type AbortOptions,
  assertServiceName,
  type Discovery,
  encodeServiceList,
  type Logger,
  type PeerDiscoveredDetail,
  type PeerLostDetail,
  raceSignal,
  SERVICES_META_KEY,
  servicesOf,
  subscribe,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage, linkSignals } from '@peer/discovery-core/internal'
import { PeerUnavailableError } from './errors.js'
import type { RequestOptions } from './types.js'

/** Payload of `provider:added` and `provider:removed`. */
export interface ProviderDetail {
  /** The service name. */
  readonly service: string
  /** The provider's node id. */
  readonly id: string
  /** The provider's name, when discovery knows it. */
  readonly name: string | undefined
  /**
   * `added`: `announced` (its record lists the service). `removed`: `unprovided` (its record no
   * longer lists it) or `lost` (discovery lost the member).
   */
  readonly reason: 'announced' | 'unprovided' | 'lost'
}

/** Events of the service directory, part of the node's events. */
export interface ServiceEvents {
  /**
   * A discovered node now provides a service (its discovery record lists it). Also for an untrusted
   * node: `providers()` and `request({ service })` use only trusted ones.
   */
  'provider:added': CustomEvent<ProviderDetail>
  /** A node no longer provides a service (as for `provider:added`, trusted or not), or discovery lost it. */
  'provider:removed': CustomEvent<ProviderDetail>
}

/**
 * Counters of the node's own filter of service lists read from discovery records (each distinct
 * value counted once). Backends built on `AbstractDiscoveryBackend` drop and count bad names
 * before the node sees them (`node.discovery.stats.droppedServiceNames`); these count only what
 * reaches the node unchecked, from a backend not built on it.
 */
export interface ServiceStats {
  /** Service names dropped from records because they were not of the grammar. */
  droppedNames: number
  /** Whole service lists dropped (too long, too many names). */
  droppedLists: number
}

/**
 * How many providers `request({ service })` waits on at once when none is connected: the first of
 * them to come up gets the request (with `connect: 'on-demand'`, each of them is dialed).
 */
export const PROVIDER_RACE = 3

/**
 * Answer latencies below this many ms count as equal when `request({ service })` picks a provider:
 * within a data centre (or on loopback) the difference is noise, and preferring the lowest sent
 * every request to one provider.
 */
export const PROVIDER_LATENCY_FLOOR_MS = 10

/** Which service `request({ service })` calls. */
export interface ServiceTarget {
  /** The service name: the request goes to one of the members whose discovery record lists it. */
  readonly service: string
}

/** No provider of the service answered: none is known, or every one was unavailable. */
export class ServiceUnavailableError extends PeerUnavailableError {
  /** The service name. */
  readonly service: string
  /** The providers tried, in order. */
  readonly tried: readonly string[]
  constructor(service: string, tried: readonly string[], options?: ErrorOptions) {
    super(
      `service:${service}`,
      tried.length === 0 ? 'no member provides it' : `none of its ${tried.length} providers was available`,
      options,
    )
    this.name = 'ServiceUnavailableError'
    this.service = service
    this.tried = tried
  }
}

/** What the directory needs from its node. @internal */
export interface ServiceHost {
  readonly log: Logger
  /** The node's own id (never listed as a provider). */
  self(): string
  /** Whether `id` is trusted now (an untrusted member is never a provider). */
  trusted(id: string): boolean
  /** Whether a connection to `id` is up. */
  connected(id: string): boolean
  /**
   * For a connected `id`: its requests in flight, how long its answers take at best in ms (the
   * fastest but the first, forgotten over seconds; 0 before the eighth), and whether its
   * connection is stalled now; `undefined` when no connection is up.
   */
  load(
    id: string,
  ): { readonly inFlight: number; readonly latency: number; readonly stalled: boolean } | undefined
  /**
   * For a connected `id`: a signal that aborts when its connection is next found stalled;
   * `undefined` when none is up or it is stalled now.
   */
  nextStall(id: string): AbortSignal | undefined
  /** Announces the node again with `services` as its `meta.services` (undefined: none). */
  announce(services: string | undefined, options: AbortOptions): Promise<void>
  /** The sources of the node's discovery backends, and whether any of them can announce. */
  announcers(): { readonly sources: readonly string[]; readonly any: boolean }
  request(id: string, topic: string, payload: unknown, options: RequestOptions): Promise<unknown>
  /**
   * Resolves once `id` is up: at once when it is, else when its dial (joined, or started for a
   * member dialed on use) and `hello` are done, within `timeoutMs`; rejects as a call to it would.
   */
  link(id: string, timeoutMs: number, signal: AbortSignal): Promise<void>
  emit(type: keyof ServiceEvents, detail: ProviderDetail): void
}

/**
 * Named services across the cluster: the names this node provides (published in its discovery
 * record, `meta.services`), the providers of every name known from the members' records, and
 * requests to a service with a choice of provider and failover. @internal (used by `PeerNode`)
 */
export class ServiceDirectory {
  readonly #host: ServiceHost
  readonly #provided = new Set<string>()
  /** member id -> its services, and the raw value they were decoded from */
  readonly #members = new Map<
    string,
    { raw: string | undefined; services: readonly string[]; name: string | undefined }
  >()
  /** service -> provider ids */
  readonly #providers = new Map<string, Set<string>>()
  readonly #stats: ServiceStats = { droppedNames: 0, droppedLists: 0 }
  /** The announcement the provide/unprovide calls of one event-loop turn share, until it starts. */
  #nextAnnounce: Promise<void> | undefined
  /** `provide` warned that no backend can announce (once per node). */
  #warnedUnannounced = false

  constructor(host: ServiceHost) {
    this.#host = host
  }

  get stats(): Readonly<ServiceStats> {
    return { ...this.#stats }
  }

  /** The services this node provides, sorted. */
  get provided(): readonly string[] {
    return [...this.#provided].sort()
  }

  /** The `meta.services` value to announce, if any. */
  metaValue(): string | undefined {
    return encodeServiceList(this.#provided)
  }

  /** Follows `discovery`'s records; returns the unsubscribe function. */
  attach(discovery: Discovery): () => void {
    const onRecord = (event: CustomEvent<PeerDiscoveredDetail>) => this.#onRecord(event.detail.record)
    return subscribe(discovery, {
      'peer:discovered': onRecord,
      'peer:updated': onRecord,
      'peer:lost': (event: CustomEvent<PeerLostDetail>) => this.#remove(event.detail.record.id, 'lost'),
    })
  }

  async provide(service: string, options: AbortOptions = {}): Promise<void> {
    assertServiceName(service)
    throwIfAborted(options.signal)
    if (this.#provided.has(service)) return
    this.#provided.add(service)
    try {
      this.metaValue() // throws when the list would be too long: nothing announced, nothing kept
    } catch (error) {
      this.#provided.delete(service)
      throw error
    }
    await this.#announceSoon(options)
    const announcers = this.#host.announcers()
    if (!this.#warnedUnannounced && !announcers.any) {
      this.#warnedUnannounced = true
      this.#host.log.warn(
        'provide: no discovery backend can announce, so other nodes learn of its services only from their own static lists or DNS TXT records',
        { service, backends: announcers.sources },
      )
    }
  }

  async unprovide(service: string, options: AbortOptions = {}): Promise<void> {
    assertServiceName(service)
    throwIfAborted(options.signal)
    if (!this.#provided.delete(service)) return
    await this.#announceSoon(options)
  }

  /**
   * Announces the node once for every provide/unprovide of this event-loop turn (a loop of ten
   * `provide` calls was ten announcements: ten etcd writes, ten mDNS bursts), with the services
   * of the moment it runs. `signal` ends a caller's wait, not the shared announcement (bounded by
   * the backends' own timeouts).
   */
  #announceSoon(options: AbortOptions): Promise<void> {
    let next = this.#nextAnnounce
    if (next === undefined) {
      next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.#nextAnnounce = undefined
        return this.#host.announce(this.metaValue(), {})
      })
      next.catch(() => {}) // each caller gets the error; none of them may be left to see it
      this.#nextAnnounce = next
    }
    return raceSignal(next, options.signal)
  }

  /** The services `id`'s discovery record lists. */
  servicesOf(id: string): readonly string[] {
    return this.#members.get(id)?.services ?? []
  }

  /** Trusted members (other than this node) whose records list `service`, sorted by id. */
  providers(service: string): string[] {
    assertServiceName(service)
    return [...(this.#providers.get(service) ?? [])].filter((id) => this.#host.trusted(id)).sort()
  }

  /**
   * The providers of `service` in the order `request` tries them: connected ones first (those whose
   * connection is stalled now last of all, after the providers not connected), by their
   * cost, how long their answers take at best (at least {@link PROVIDER_LATENCY_FLOOR_MS}: nearer
   * ones first, those within the floor equal; forgotten over seconds, so a far one is tried again)
   * times one more than their requests in flight (so load spreads, and a far or busy provider takes
   * requests once the others are busier); equal costs, and the providers not connected, in random
   * order. (The transport's RTT is not used: right after a handshake on loopback the engines report
   * 0 to 5 ms for quinn and 130 to 165 ms for @matrixai.)
   */
  order(service: string): string[] {
    const shuffled = this.providers(service)
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
    }
    const costs = new Map<string, number>()
    for (const id of shuffled) {
      const load = this.#host.load(id)
      // the providers not connected after the connected ones, and those whose connection is
      // stalled (a provider that died, a partition) last of all
      const cost =
        load === undefined
          ? Number.MAX_VALUE
          : load.stalled
            ? Number.POSITIVE_INFINITY
            : Math.max(load.latency, PROVIDER_LATENCY_FLOOR_MS) * (load.inFlight + 1)
      costs.set(id, cost)
    }
    // a stable sort: equal costs keep the shuffled order
    return shuffled.sort((a, b) => {
      const ca = costs.get(a)!
      const cb = costs.get(b)!
      return ca === cb ? 0 : ca < cb ? -1 : 1
    })
  }

  /**
   * Sends the request to the first provider in {@link order}; on `PeerUnavailableError`, or when
   * the provider's connection is found stalled with the request in flight (`stallTimeoutMs` of
   * silence), tries the next, within one overall `timeoutMs`. When none is connected, the first of
   * the next {@link PROVIDER_RACE} to come up gets it (a provider whose dial hangs must not take
   * the whole timeout while another one is up). Other errors (timeout, remote error, no handler)
   * are the answer. Rejects with {@link ServiceUnavailableError} when no provider was available.
   */
  async request(
    target: ServiceTarget,
    topic: string,
    payload: unknown,
    options: RequestOptions & { timeoutMs: number },
  ): Promise<unknown> {
    const service = target.service
    assertServiceName(service)
    throwIfAborted(options.signal)
    const deadline = performance.now() + options.timeoutMs
    const tried: string[] = []
    let last: unknown
    for (;;) {
      const left = Math.floor(deadline - performance.now())
      const candidates = this.order(service).filter((id) => !tried.includes(id))
      if (left < 1 || candidates.length === 0) break
      let id = candidates[0]!
      if (!this.#host.connected(id)) {
        const raced = candidates.slice(0, PROVIDER_RACE)
        const won = await this.#firstUp(raced, left, options.signal)
        if (typeof won !== 'string') {
          tried.push(...raced)
          last = won.error
          continue
        }
        id = won
      }
      tried.push(id)
      // a connection found stalled with the request in flight: the next provider gets it (the
      // stalled one may answer after all, so it may run twice, as with any failover)
      const stall = this.#host.nextStall(id)
      const linked = stall === undefined ? undefined : linkSignals([options.signal, stall])
      try {
        const rest = Math.max(1, Math.floor(deadline - performance.now()))
        const signal = linked?.signal ?? options.signal
        return await this.#host.request(id, topic, payload, { ...options, signal, timeoutMs: rest })
      } catch (thrown) {
        const error =
          stall?.aborted === true && options.signal?.aborted !== true
            ? new PeerUnavailableError(id, 'the connection stalled with the request in flight', {
                reason: 'connection-lost',
                cause: thrown,
              })
            : thrown
        if (!(error instanceof PeerUnavailableError)) throw error
        last = error
        this.#host.log.debug('service provider unavailable, trying the next', {
          service,
          id,
          error: errorMessage(error),
        })
      } finally {
        linked?.release()
      }
    }
    throw new ServiceUnavailableError(service, tried, last === undefined ? undefined : { cause: last })
  }

  /**
   * The first of `ids` to come up, or the first error when none did (`PeerUnavailableError`s: not
   * up within `timeoutMs`, dial failed, backing off); the waits of the others end with it. Any
   * other error (the node stopped, `signal` aborted) is thrown.
   */
  async #firstUp(
    ids: readonly string[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string | { error: unknown }> {
    const race = new AbortController()
    const linked = linkSignals([signal, race.signal])
    try {
      return await Promise.any(ids.map((id) => this.#host.link(id, timeoutMs, linked.signal).then(() => id)))
    } catch (error) {
      throwIfAborted(signal)
      const errors: unknown[] = error instanceof AggregateError ? error.errors : [error]
      const other = errors.find((e) => !(e instanceof PeerUnavailableError))
      if (other !== undefined) throw other
      return { error: errors[0] }
    } finally {
      race.abort()
      linked.release()
    }
  }

  #onRecord(record: PeerDiscoveredDetail['record']): void {
    if (record.id === this.#host.self()) return
    const raw = record.meta?.[SERVICES_META_KEY]
    const known = this.#members.get(record.id)
    if (known !== undefined && known.raw === raw) return
    const decoded = servicesOf(record)
    this.#stats.droppedNames += decoded.droppedNames
    if (decoded.droppedList) this.#stats.droppedLists++
    if (decoded.droppedNames > 0 || decoded.droppedList) {
      this.#host.log.debug('dropped service names from a record', {
        id: record.id,
        droppedNames: decoded.droppedNames,
        droppedList: decoded.droppedList,
      })
    }
    const before = new Set(known?.services ?? [])
    const after = new Set(decoded.services)
    const name = record.name
    if (after.size === 0) this.#members.delete(record.id)
    else this.#members.set(record.id, { raw, services: decoded.services, name })
    for (const service of before) {
      if (after.has(service)) continue
      this.#unlink(service, record.id)
      this.#host.emit('provider:removed', { service, id: record.id, name, reason: 'unprovided' })
    }
    for (const service of after) {
      if (before.has(service)) continue
      let set = this.#providers.get(service)
      if (set === undefined) {
        set = new Set()
        this.#providers.set(service, set)
      }
      set.add(record.id)
      this.#host.emit('provider:added', { service, id: record.id, name, reason: 'announced' })
    }
  }

  #remove(id: string, reason: 'lost'): void {
    const known = this.#members.get(id)
    if (known === undefined) return
    this.#members.delete(id)
    for (const service of known.services) {
      this.#unlink(service, id)
      this.#host.emit('provider:removed', { service, id, name: known.name, reason })
    }
  }

  #unlink(service: string, id: string): void {
    const set = this.#providers.get(service)
    set?.delete(id)
    if (set?.size === 0) this.#providers.delete(service)
  }
}

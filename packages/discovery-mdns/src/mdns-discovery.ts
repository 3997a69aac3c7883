import type { RemoteInfo } from 'node:dgram'
import {
  AbstractAnnouncingBackend,
  type BackendOptions,
  DEFAULT_RECORD_LIMITS,
  type LocalPeer,
  sameRecord,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  BACKEND_OPTION_KEYS,
  errorMessage,
  numberOption,
  quote,
  renamedOption,
  warnUnknownOptions,
} from '@peer/discovery-core/internal'
import { type Announcement, Announcer } from './announcer.js'
import { emptyStats, type MdnsContext, type MdnsStats, type SocketState } from './context.js'
import { InvalidAnnouncementError, MdnsConfigError } from './errors.js'
import { instanceLabelFor, renamedInstanceLabel } from './instance-name.js'
import { InterfaceSet } from './interface-set.js'
import type { Destination } from './interface-socket.js'
import type { InterfaceFilter, InterfaceSource } from './interfaces.js'
import { Querier } from './querier.js'
import { DOMAIN, positive, querySignature } from './records.js'
import { Responder } from './responder.js'
import { ServiceCache } from './service-cache.js'
import { DEFAULT_TXT_LIMITS, encodeTxt, type TxtLimits } from './txt.js'
import type { DnsPacket } from './wire.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const MDNS_DISCOVERY_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...BACKEND_OPTION_KEYS,
  'announcements',
  'interfacePollInterval',
  'interfacePollIntervalMs',
  'interfaceSource',
  'interfaces',
  'maxHosts',
  'maxInstances',
  'maxPacketsPerSecond',
  'maxPendingInstances',
  'maxQueryInterval',
  'maxQueryIntervalMs',
  'port',
  'probe',
  'resolveTimeout',
  'resolveTimeoutMs',
  'serviceTtl',
  'serviceType',
  'ttl',
  'txtLimits',
])

export type { MdnsStats } from './context.js'

/** Options of {@link MdnsDiscovery}. */
export interface MdnsDiscoveryOptions extends BackendOptions {
  /** DNS-SD service type, `_name._udp` or `_name._tcp`. Default `_peer._udp`. */
  serviceType?: string | undefined
  /**
   * TTL in seconds of the records that say a node is alive (SRV, A/AAAA): a node that dies without
   * a goodbye is lost after it. Default 120 (RFC 6762 section 10).
   */
  ttl?: number | undefined
  /**
   * TTL in seconds of the PTR and TXT records. Default 4500 (75 minutes, RFC 6762 section 10):
   * long-lived PTRs make known-answer suppression work, so steady-state traffic stays low. Never
   * shorter than `ttl`.
   */
  serviceTtl?: number | undefined
  /** UDP port of mDNS, an integer in 1-65535. Default 5353 (change only for private test networks). */
  port?: number | undefined
  /** Which interfaces and IP families to use. */
  interfaces?: InterfaceFilter | undefined
  /** Probe for the instance and host names before announcing (RFC 6762 section 8.1). Default true. */
  probe?: boolean | undefined
  /**
   * Unsolicited announcements after probing, one second apart, then doubling. An integer in 1-8,
   * default 2.
   */
  announcements?: number | undefined
  /** Longest interval between browse queries, ms (RFC 6762 section 5.2 back-off cap). Default 1 hour. */
  maxQueryIntervalMs?: number | undefined
  /**
   * Same as `maxQueryIntervalMs` (ms). Giving it with a different `maxQueryIntervalMs` is an
   * `MdnsConfigError`.
   * @deprecated Use `maxQueryIntervalMs` (same unit); accepted until the next minor version.
   */
  maxQueryInterval?: number | undefined
  /** How often interfaces are checked for changes, ms. Default 1000. */
  interfacePollIntervalMs?: number | undefined
  /**
   * Same as `interfacePollIntervalMs` (ms). Giving it with a different `interfacePollIntervalMs` is an
   * `MdnsConfigError`.
   * @deprecated Use `interfacePollIntervalMs` (same unit); accepted until the next minor version.
   */
  interfacePollInterval?: number | undefined
  /**
   * An instance that cannot be resolved (SRV, TXT, address) in this time is dropped and counted,
   * ms. Default 5000.
   */
  resolveTimeoutMs?: number | undefined
  /**
   * Same as `resolveTimeoutMs` (ms). Giving it with a different `resolveTimeoutMs` is an `MdnsConfigError`.
   * @deprecated Use `resolveTimeoutMs` (same unit); accepted until the next minor version.
   */
  resolveTimeout?: number | undefined
  /**
   * Most resolved service instances cached (those that completed PTR -> SRV -> address), an integer
   * of at least 1. Default 1024.
   */
  maxInstances?: number | undefined
  /**
   * Most half-resolved instances cached (SRV-only, TXT-only, PTR awaiting answers). A separate
   * budget: junk fills only this one, and its oldest entry makes room for a newer one. An integer of
   * at least 1. Default `maxInstances`.
   */
  maxPendingInstances?: number | undefined
  /** Most hosts cached, an integer of at least 1. Default 1024. */
  maxHosts?: number | undefined
  /**
   * Packets accepted per second per interface; more are dropped and counted before decoding.
   * Default 1000.
   */
  maxPacketsPerSecond?: number | undefined
  /** Limits of TXT records (ours and received). */
  txtLimits?: Partial<TxtLimits> | undefined
  /** Where interfaces come from; `os.networkInterfaces` by default. */
  interfaceSource?: InterfaceSource | undefined
}

const TICK_MS = 250

/**
 * mDNS / DNS-SD discovery (RFC 6762, RFC 6763), interoperable with Avahi and Bonjour.
 *
 * Announces this node as `<name>._peer._udp.local` (SRV, TXT with id, name, protocol version and
 * meta, A/AAAA per interface) after probing for the name, answers queries on each interface with
 * that interface's addresses only, and says goodbye (TTL 0) on withdraw and stop. Browses with
 * RFC 6762 back-off and known-answer suppression, caches records with their TTLs (refreshing at
 * 80-95%), and reports `peer:lost` on a goodbye or when the records expire.
 *
 * The work is split between an `Announcer` (probing, announcing, goodbyes), a
 * `Responder` (answers), a `Querier` with its `ServiceCache` (browsing,
 * resolving, expiry) and an `InterfaceSet` (interfaces and their sockets); this class wires
 * them together and keeps the public API.
 *
 * @example
 * ```ts
 * const mdns = new MdnsDiscovery()
 * mdns.addEventListener('peer:discovered', (e) => console.log(e.detail.record))
 * await mdns.start()
 * await mdns.announce({ id, name: 'app@laptop', addresses: [{ host: '0.0.0.0', port: 4000 }] })
 * ```
 */
export class MdnsDiscovery extends AbstractAnnouncingBackend {
  readonly #serviceType: string
  readonly #serviceName: string
  readonly #port: number
  readonly #pollInterval: number
  readonly #txtLimits: TxtLimits
  readonly #cache: ServiceCache
  readonly #mstats: MdnsStats = emptyStats()
  readonly #ctx: MdnsContext
  readonly #announcer: Announcer
  readonly #responder: Responder
  readonly #querier: Querier
  readonly #ifaces: InterfaceSet
  #running = false
  /** Bumped by every start and stop: work begun under an older generation gives up. */
  #generation = 0
  #tickTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor(options: MdnsDiscoveryOptions = {}) {
    super('mdns', ['list', 'watch', 'expiry'], options)
    warnUnknownOptions('MdnsDiscovery', options, MDNS_DISCOVERY_OPTION_KEYS)
    const type = options.serviceType ?? '_peer._udp'
    if (!/^_[A-Za-z0-9-]{1,15}\._(udp|tcp)$/.test(type)) {
      throw new MdnsConfigError(`serviceType must look like _name._udp or _name._tcp, got ${quote(type)}`, {
        option: 'serviceType',
      })
    }
    this.#serviceType = type
    this.#serviceName = `${type}.${DOMAIN}`
    const ttl = positive(options.ttl ?? 120, 'ttl')
    const serviceTtl = Math.max(ttl, positive(options.serviceTtl ?? 4500, 'serviceTtl'))
    type Count = 'port' | 'announcements' | 'maxInstances' | 'maxPendingInstances' | 'maxHosts'
    const count = (option: Count, fallback: number, max?: number) =>
      numberOption(
        options[option],
        option,
        fallback,
        { integer: true, min: 1, ...(max === undefined ? {} : { max }) },
        MdnsConfigError,
      )
    this.#port = count('port', 5353, 65535)
    const ms = (current: string, deprecated: string, fallback: number) =>
      numberOption(
        renamedOption(options, { current, deprecated, owner: 'MdnsDiscovery', error: MdnsConfigError }),
        current,
        fallback,
        { min: 0, exclusiveMin: true },
        MdnsConfigError,
      )
    const maxQueryInterval = ms('maxQueryIntervalMs', 'maxQueryInterval', 3_600_000)
    this.#pollInterval = ms('interfacePollIntervalMs', 'interfacePollInterval', 1000)
    const resolveTimeout = ms('resolveTimeoutMs', 'resolveTimeout', 5000)
    const maxPps = positive(options.maxPacketsPerSecond ?? 1000, 'maxPacketsPerSecond')
    this.#txtLimits = { ...DEFAULT_TXT_LIMITS, ...options.txtLimits }
    const maxInstances = count('maxInstances', 1024)
    this.#cache = new ServiceCache({
      maxInstances,
      maxPending: count('maxPendingInstances', maxInstances),
      maxHosts: count('maxHosts', 1024),
      maxAddressesPerHost: options.recordLimits?.maxAddresses ?? DEFAULT_RECORD_LIMITS.maxAddresses,
    })
    const announcements = count('announcements', 2, 8)
    this.#ctx = this.#context()
    this.#announcer = new Announcer(this.#ctx, {
      ttl,
      serviceTtl,
      probe: options.probe ?? true,
      announcements,
    })
    this.#responder = new Responder(this.#ctx, this.#announcer)
    this.#querier = new Querier(
      this.#ctx,
      {
        resolveTimeout,
        maxQueryInterval,
        txtLimits: this.#txtLimits,
        recordLimits: this.recordLimits,
        reportPeer: (record) => this.reportPeer(record),
        reportLost: (id, reason) => this.reportLost(id, reason),
      },
      this.#cache,
    )
    this.#ifaces = new InterfaceSet(
      this.#ctx,
      { filter: options.interfaces ?? {}, source: options.interfaceSource, maxPacketsPerSecond: maxPps },
      {
        packet: (s, packet, rinfo) => this.#onPacket(s, packet, rinfo),
        opened: (s) => this.#querier.scheduleBrowse(s, 20 + Math.random() * 100),
        changing: (old, now, s) => this.#announcer.goodbyeRemovedAddresses(old, now, s),
        removed: (name) => this.#querier.flushInterface(name),
        changed: (ifaces) => {
          const a = this.#announcer.current
          if (a?.state !== 'announced') return
          const names = new Set(ifaces.map((i) => i.name))
          for (const s of this.#ifaces.sockets.values())
            if (names.has(s.socket.iface.name)) void this.#announcer.sendAnnouncement(s, a)
        },
      },
    )
  }

  #context(): MdnsContext {
    return {
      serviceName: this.#serviceName,
      port: this.#port,
      stats: this.#mstats,
      log: this.log,
      running: () => this.#running,
      sockets: () => this.#ifaces.sockets.values(),
      socket: (key) => this.#ifaces.sockets.get(key),
      interfaces: () => this.#ifaces.interfaces.values(),
      send: (s, packet, destination) => this.#send(s, packet, destination),
      later: (ms, fn) => this.#later(ms, fn),
      countInvalid: (reason) => this.countInvalid(reason),
      reportError: (error) => this.reportError(error),
    }
  }

  /** The DNS-SD service type browsed and announced, e.g. `_peer._udp`. */
  get serviceType(): string {
    return this.#serviceType
  }

  /** mDNS counters (packets, drops, conflicts). */
  get mdnsStats(): Readonly<MdnsStats> {
    const { droppedServiceNames, droppedServiceLists } = this.stats
    return {
      ...this.#mstats,
      cacheEvictions: this.#cache.evictions,
      droppedServiceNames,
      droppedServiceLists,
    }
  }

  /** The instance name currently announced (after conflict renaming), e.g. `app@host (2)`. */
  get instanceName(): string | undefined {
    const a = this.#announcer.current
    if (a !== undefined) return renamedInstanceLabel(a.baseLabel, a.attempt)
    const self = this.announcement // announced before start: published on start
    return self === undefined ? undefined : instanceLabelFor(self.id, self.name)
  }

  /** Names of the interfaces mDNS currently runs on. */
  get interfaceNames(): string[] {
    return [...this.#ifaces.interfaces.keys()]
  }

  /** Number of instances (resolved and pending) and hosts in the cache (for tests of the bounds). */
  get cacheSize(): { instances: number; hosts: number; resolved: number; pending: number } {
    const { resolved, pending } = this.#cache.counts
    return { instances: this.#cache.instances.size, hosts: this.#cache.hosts.size, resolved, pending }
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  /**
   * Opens a socket on every selected interface and family (browsing starts on each as it opens),
   * starts a 250 ms tick (record expiry, refresh and resolve queries) and the interface poll (every
   * `interfacePollIntervalMs`), and begins publishing an announcement made before `start()` or kept
   * across a stop, without waiting for the probe. A socket that fails to open is reported as an error
   * and retried on the next poll.
   */
  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    this.#running = true
    const generation = ++this.#generation
    const live = () => this.#running && generation === this.#generation
    await this.#ifaces.sync(live)
    throwIfAborted(signal)
    this.#tickTimer = setInterval(() => {
      if (!this.#running) return
      try {
        this.#querier.tick(Date.now())
      } catch (error) {
        this.reportError(error)
      }
    }, TICK_MS)
    this.#pollTimer = setInterval(() => {
      void this.#ifaces.sync(live).catch((error: unknown) => this.reportError(error))
    }, this.#pollInterval)
    // publish what announce() remembered (before start, or across a stop)
    const self = this.announcement
    const current = this.#announcer.current
    if (self === undefined) this.#announcer.current = undefined
    else if (current === undefined || !sameRecord(current.self, self))
      this.#announcer.current = this.#create(self)
    const a = this.#announcer.current
    if (a !== undefined) this.#announcer.begin(a)
  }

  /**
   * Stops the timers, sends goodbyes (TTL 0) for this node's announcement when it was announced
   * (keeping it, to publish again on the next start), closes every socket and empties the caches.
   */
  protected async onStop(): Promise<void> {
    this.#running = false
    this.#generation++
    clearInterval(this.#tickTimer)
    clearInterval(this.#pollTimer)
    this.#tickTimer = undefined
    this.#pollTimer = undefined
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    const a = this.#announcer.current
    if (a !== undefined) {
      const wasAnnounced = a.state === 'announced'
      this.#announcer.cancel(a)
      if (wasAnnounced) await this.#announcer.sendGoodbye(a)
      // published again on the next start
      this.#announcer.current = this.#announcer.create(a.self, a.txt, a.port, a.baseLabel)
    }
    await this.#ifaces.closeAll()
    this.#cache.clear()
    this.#querier.clear()
    this.#responder.clear()
    this.#announcer.clear()
  }

  // ---------------------------------------------------------------------------------------------
  // announce / withdraw

  /** Each interface's own addresses are published for `0.0.0.0` / `::` (a listed IP filters them). */
  protected override get announcesInterfaceAddresses(): boolean {
    return true
  }

  /**
   * Rejects what DNS-SD cannot carry (no port for the SRV record, a reserved or malformed TXT key,
   * a TXT record over the limit) before anything changes.
   */
  protected override checkAnnouncement(self: LocalPeer): void {
    if (self.addresses[0]?.port === undefined)
      throw new InvalidAnnouncementError('announce() needs at least one address (for the SRV port)')
    encodeTxt(self, this.#txtLimits)
  }

  /** A fresh announcement of `peer` (not begun). */
  #create(peer: LocalPeer, attempt?: number, hostAttempt?: number): Announcement {
    const txt = encodeTxt(peer, this.#txtLimits)
    const port = peer.addresses[0]!.port
    return this.#announcer.create(peer, txt, port, instanceLabelFor(peer.id, peer.name), attempt, hostAttempt)
  }

  /**
   * Publishes this node (the base class validated it and handles signals and announce-before-
   * start). Resolves once the name is probed and the first announcement is sent. A changed record
   * re-announces; an unchanged record is a no-op.
   */
  protected async doAnnounce(peer: LocalPeer): Promise<void> {
    const announcer = this.#announcer
    const previous: Announcement | undefined = announcer.current
    if (previous !== undefined && sameRecord(previous.self, peer)) {
      if (previous.state === 'idle') announcer.begin(previous)
      await previous.announced
      return
    }
    const baseLabel = instanceLabelFor(peer.id, peer.name)
    if (previous !== undefined) {
      const wasAnnounced = previous.state === 'announced'
      announcer.cancel(previous)
      const sameNames = previous.self.id === peer.id && previous.baseLabel === baseLabel
      if (wasAnnounced && sameNames && this.#running) {
        // same names: the new SRV/TXT replace the old ones through the cache-flush bit
        const next = this.#create(peer, previous.attempt, previous.hostAttempt)
        announcer.current = next
        announcer.announceNow(next)
        return
      }
      if (wasAnnounced && this.#running) await announcer.sendGoodbye(previous)
    }
    const next = this.#create(peer)
    announcer.current = next
    if (!this.#running) return
    announcer.begin(next)
    await next.announced
  }

  /** Withdraws this node: goodbye packets (TTL 0) on every interface. */
  protected async doWithdraw(): Promise<void> {
    const a = this.#announcer.current
    if (a === undefined) return
    this.#announcer.current = undefined
    const wasAnnounced = a.state === 'announced'
    this.#announcer.cancel(a)
    if (wasAnnounced && this.#running) await this.#announcer.sendGoodbye(a)
  }

  // ---------------------------------------------------------------------------------------------
  // packets

  #onPacket(s: SocketState, packet: DnsPacket, rinfo: RemoteInfo): void {
    if (!this.#running) return
    const now = Date.now()
    this.#mstats.packetsReceived++
    try {
      // RFC 6762 section 18: messages with another opcode or a non-zero rcode are ignored
      if (((packet.flags ?? 0) & 0x780f) !== 0) return
      if (packet.type === 'query') {
        this.#responder.noteForeignQuery(s, packet, rinfo, now)
        this.#responder.onQuery(s, packet, rinfo)
      } else if (packet.type === 'response') {
        if (rinfo.port !== this.#port) {
          this.#mstats.badSourcePort++
          return
        }
        this.#announcer.checkResponse([...(packet.answers ?? []), ...(packet.additionals ?? [])])
        this.#querier.onResponse(s, packet, now)
      }
    } catch (error) {
      this.countInvalid(`packet handling failed: ${errorMessage(error)}`)
    }
  }

  async #send(s: SocketState, packet: DnsPacket, destination?: Destination): Promise<void> {
    this.#mstats.packetsSent++
    if (packet.type === 'query') {
      s.ownQueries.set(querySignature(packet), Date.now())
    }
    await s.socket.send(packet, destination)
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#running) return
      try {
        fn()
      } catch (error) {
        this.reportError(error)
      }
    }, ms)
    this.#timers.add(timer)
  }
}

import type { RemoteInfo } from 'node:dgram'
import {
  AbortError,
  type AbortOptions,
  AbstractDiscoveryBackend,
  type BackendOptions,
  DEFAULT_RECORD_LIMITS,
  delay,
  errorMessage,
  type LocalPeer,
  raceSignal,
  sameRecord,
  throwIfAborted,
  validateLocalPeer,
} from '@peer/discovery-core'
import { InvalidAnnouncementError } from './errors.js'
import {
  escapeLabel,
  hostLabelFor,
  instanceLabelFor,
  nameKey,
  renamedInstanceLabel,
} from './instance-name.js'
import {
  type DnsRecord as Answer,
  type Destination,
  InterfaceSocket,
  type DnsPacket as Packet,
  type DnsQuestion as Question,
} from './interface-socket.js'
import {
  type InterfaceFilter,
  type InterfaceSource,
  interfaceFingerprint,
  isOnLink,
  type MdnsInterface,
  selectInterfaces,
} from './interfaces.js'
import {
  type CachedRecord,
  cachedRecord,
  dueForRefresh,
  type InstanceEntry,
  ServiceCache,
} from './service-cache.js'
import {
  DEFAULT_TXT_LIMITS,
  decodeTxt,
  encodeTxt,
  PROTOCOL_VERSION,
  RESERVED_TXT_KEYS,
  type TxtLimits,
} from './txt.js'

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
  /** UDP port of mDNS. Default 5353 (change only for private test networks). */
  port?: number | undefined
  /** Which interfaces and IP families to use. */
  interfaces?: InterfaceFilter | undefined
  /** Probe for the instance and host names before announcing (RFC 6762 section 8.1). Default true. */
  probe?: boolean | undefined
  /** Unsolicited announcements after probing, one second apart, then doubling. 1-8, default 2. */
  announcements?: number | undefined
  /** Longest interval between browse queries, ms (RFC 6762 section 5.2 back-off cap). Default 1 hour. */
  maxQueryInterval?: number | undefined
  /** How often interfaces are checked for changes, ms. Default 1000. */
  interfacePollInterval?: number | undefined
  /** An instance that cannot be resolved (SRV, TXT, address) in this time is dropped and counted, ms. Default 5000. */
  resolveTimeout?: number | undefined
  /** Most service instances cached. Default 1024. */
  maxInstances?: number | undefined
  /** Most hosts cached. Default 1024. */
  maxHosts?: number | undefined
  /** Packets accepted per second per interface; more are dropped and counted. Default 1000. */
  maxPacketsPerSecond?: number | undefined
  /** Limits of TXT records (ours and received). */
  txtLimits?: Partial<TxtLimits> | undefined
  /** Where interfaces come from; `os.networkInterfaces` by default. */
  interfaceSource?: InterfaceSource | undefined
}

/** Counters specific to mDNS; they only grow. */
export interface MdnsStats {
  packetsReceived: number
  packetsSent: number
  /** Datagrams that were not DNS messages. */
  malformedPackets: number
  /** Packets dropped by the per-interface rate limit. */
  floodDrops: number
  /** Responses ignored because their source port was not the mDNS port. */
  badSourcePort: number
  /** Records dropped because a cache (instances, hosts, addresses) was full. */
  cacheOverflows: number
  /** Instances dropped because SRV, TXT or an address never arrived. */
  unresolvable: number
  /** TXT strings dropped (binary, malformed key, control characters, too many). */
  badTxt: number
  /** Name conflicts that made us rename (instance or host). */
  conflicts: number
  /** Answers not multicast again within a second (RFC 6762 section 6). */
  rateLimited: number
  /** Queries answered. */
  queriesAnswered: number
}

interface SocketState {
  socket: InterfaceSocket
  /** Next browse query interval, ms. */
  queryInterval: number
  queryTimer?: NodeJS.Timeout | undefined
  tokens: number
  lastRefill: number
  /** record key -> last time it was multicast on this interface */
  lastMulticast: Map<string, number>
  /** signature -> time of queries we sent (their multicast loopback copies are not answered) */
  ownQueries: Map<string, number>
  /** Another host's recent PTR query for our service: when, and the instances it already knew. */
  foreignPtrQuery?: { at: number; known: Set<string> } | undefined
}

interface Announcement {
  self: LocalPeer
  txt: Buffer[]
  port: number
  baseLabel: string
  attempt: number
  hostAttempt: number
  instanceName: string
  hostName: string
  state: 'idle' | 'probing' | 'announced'
  conflict: boolean
  lostTiebreak: boolean
  abort: AbortController
  /** Resolves when the first announcement went out. */
  announced: Promise<void>
  resolveAnnounced: () => void
  rejectAnnounced: (error: unknown) => void
}

const DOMAIN = 'local'
const SERVICES_META = '_services._dns-sd._udp.local'
const TICK_MS = 250
const TYPE_ANY = 'ANY'

/**
 * mDNS / DNS-SD discovery (RFC 6762, RFC 6763), interoperable with Avahi and Bonjour.
 *
 * Announces this node as `<name>._peer._udp.local` (SRV, TXT with id, name, protocol version and
 * meta, A/AAAA per interface) after probing for the name, answers queries on each interface with
 * that interface's addresses only, and says goodbye (TTL 0) on withdraw and stop. Browses with
 * RFC 6762 back-off and known-answer suppression, caches records with their TTLs (refreshing at
 * 80-95%), and reports `peer:lost` on a goodbye or when the records expire.
 *
 * @example
 * ```ts
 * const mdns = new MdnsDiscovery()
 * mdns.addEventListener('peer:discovered', (e) => console.log(e.detail.record))
 * await mdns.start()
 * await mdns.announce({ id, name: 'app@laptop', addresses: [{ host: '0.0.0.0', port: 4000 }] })
 * ```
 */
export class MdnsDiscovery extends AbstractDiscoveryBackend {
  readonly #serviceType: string
  readonly #serviceName: string
  readonly #ttl: number
  readonly #serviceTtl: number
  readonly #port: number
  readonly #filter: InterfaceFilter
  readonly #probe: boolean
  readonly #announcements: number
  readonly #maxQueryInterval: number
  readonly #pollInterval: number
  readonly #resolveTimeout: number
  readonly #maxPps: number
  readonly #txtLimits: TxtLimits
  readonly #interfaceSource: InterfaceSource | undefined
  readonly #cache: ServiceCache
  readonly #mstats: MdnsStats = {
    packetsReceived: 0,
    packetsSent: 0,
    malformedPackets: 0,
    floodDrops: 0,
    badSourcePort: 0,
    cacheOverflows: 0,
    unresolvable: 0,
    badTxt: 0,
    conflicts: 0,
    rateLimited: 0,
    queriesAnswered: 0,
  }

  readonly #sockets = new Map<string, SocketState>()
  #interfaces = new Map<string, MdnsInterface>()
  #announcement: Announcement | undefined
  #running = false
  /** Interfaces whose socket failed to open (reported once until one opens). */
  readonly #failing = new Set<string>()
  /** Bumped by every start and stop: work begun under an older generation gives up. */
  #generation = 0
  #syncChain: Promise<void> = Promise.resolve()
  #tickTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  readonly #timers = new Set<NodeJS.Timeout>()
  /** id -> instance keys currently reporting it */
  readonly #reportedBy = new Map<string, Set<string>>()

  constructor(options: MdnsDiscoveryOptions = {}) {
    super('mdns', ['announce', 'list', 'watch', 'expiry'], options)
    const type = options.serviceType ?? '_peer._udp'
    if (!/^_[A-Za-z0-9-]{1,15}\._(udp|tcp)$/.test(type)) {
      throw new TypeError(`serviceType must look like _name._udp or _name._tcp, got ${JSON.stringify(type)}`)
    }
    this.#serviceType = type
    this.#serviceName = `${type}.${DOMAIN}`
    this.#ttl = positive(options.ttl ?? 120, 'ttl')
    this.#serviceTtl = Math.max(this.#ttl, positive(options.serviceTtl ?? 4500, 'serviceTtl'))
    this.#port = options.port ?? 5353
    this.#filter = options.interfaces ?? {}
    this.#probe = options.probe ?? true
    this.#announcements = Math.min(8, Math.max(1, options.announcements ?? 2))
    this.#maxQueryInterval = positive(options.maxQueryInterval ?? 3_600_000, 'maxQueryInterval')
    this.#pollInterval = positive(options.interfacePollInterval ?? 1000, 'interfacePollInterval')
    this.#resolveTimeout = positive(options.resolveTimeout ?? 5000, 'resolveTimeout')
    this.#maxPps = positive(options.maxPacketsPerSecond ?? 1000, 'maxPacketsPerSecond')
    this.#txtLimits = { ...DEFAULT_TXT_LIMITS, ...options.txtLimits }
    this.#interfaceSource = options.interfaceSource
    this.#cache = new ServiceCache({
      maxInstances: options.maxInstances ?? 1024,
      maxHosts: options.maxHosts ?? 1024,
      maxAddressesPerHost: options.recordLimits?.maxAddresses ?? DEFAULT_RECORD_LIMITS.maxAddresses,
    })
  }

  /** The DNS-SD service type browsed and announced, e.g. `_peer._udp`. */
  get serviceType(): string {
    return this.#serviceType
  }

  /** mDNS counters (packets, drops, conflicts). */
  get mdnsStats(): Readonly<MdnsStats> {
    return { ...this.#mstats }
  }

  /** The instance name currently announced (after conflict renaming), e.g. `app@host (2)`. */
  get instanceName(): string | undefined {
    const a = this.#announcement
    return a ? renamedInstanceLabel(a.baseLabel, a.attempt) : undefined
  }

  /** Names of the interfaces mDNS currently runs on. */
  get interfaceNames(): string[] {
    return [...this.#interfaces.keys()]
  }

  /** Number of instances and hosts in the cache (for tests of the bounds). */
  get cacheSize(): { instances: number; hosts: number } {
    return { instances: this.#cache.instances.size, hosts: this.#cache.hosts.size }
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    this.#running = true
    this.#generation++
    await this.#syncInterfaces()
    throwIfAborted(signal)
    this.#tickTimer = setInterval(() => this.#tick(), TICK_MS)
    this.#pollTimer = setInterval(() => {
      void this.#syncInterfaces().catch((error: unknown) => this.reportError(error))
    }, this.#pollInterval)
    const a = this.#announcement
    if (a !== undefined) this.#beginAnnouncement(a)
  }

  protected async onStop(): Promise<void> {
    this.#running = false
    this.#generation++
    clearInterval(this.#tickTimer)
    clearInterval(this.#pollTimer)
    this.#tickTimer = undefined
    this.#pollTimer = undefined
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    const a = this.#announcement
    if (a !== undefined) {
      const wasAnnounced = a.state === 'announced'
      this.#cancelAnnouncement(a)
      if (wasAnnounced) await this.#sendGoodbye(a)
      // published again on the next start
      this.#announcement = this.#newAnnouncement(a.self, a.txt, a.port, a.baseLabel, 1, 1)
    }
    await Promise.all(
      [...this.#sockets.values()].map((s) => {
        clearTimeout(s.queryTimer)
        return s.socket.close()
      }),
    )
    this.#sockets.clear()
    this.#interfaces.clear()
    this.#cache.clear()
    this.#reportedBy.clear()
  }

  // ---------------------------------------------------------------------------------------------
  // announce / withdraw

  /**
   * Publishes this node. Resolves once the name is probed and the first announcement is sent (or
   * at once when the backend is not started: it is published on `start()`). Calling it again with
   * a changed record re-announces; an unchanged record is a no-op.
   */
  async announce(self: LocalPeer, options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    const peer = validateLocalPeer(self, this.recordLimits)
    const port = peer.addresses[0]?.port
    if (port === undefined)
      throw new InvalidAnnouncementError('announce() needs at least one address (for the SRV port)')
    const txt = encodeTxt(peer, this.#txtLimits)
    const previous = this.#announcement
    if (previous !== undefined && sameRecord(previous.self, peer)) {
      if (this.started) await raceSignal(previous.announced, options.signal)
      return
    }
    this.setSelfId(peer.id)
    const baseLabel = instanceLabelFor(peer.id, peer.name)
    if (previous !== undefined) {
      const wasAnnounced = previous.state === 'announced'
      this.#cancelAnnouncement(previous)
      const sameNames = previous.self.id === peer.id && previous.baseLabel === baseLabel
      if (wasAnnounced && sameNames && this.#running) {
        // same names: the new SRV/TXT replace the old ones through the cache-flush bit
        const next = this.#newAnnouncement(peer, txt, port, baseLabel, previous.attempt, previous.hostAttempt)
        this.#announcement = next
        this.#announceNow(next)
        return
      }
      if (wasAnnounced && this.#running) await this.#sendGoodbye(previous)
    }
    const next = this.#newAnnouncement(peer, txt, port, baseLabel, 1, 1)
    this.#announcement = next
    if (!this.#running) return
    this.#beginAnnouncement(next)
    await raceSignal(next.announced, options.signal)
  }

  /** Withdraws this node: goodbye packets (TTL 0) on every interface. A no-op when not announced. */
  async withdraw(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    const a = this.#announcement
    if (a === undefined) return
    this.#announcement = undefined
    const wasAnnounced = a.state === 'announced'
    this.#cancelAnnouncement(a)
    if (wasAnnounced && this.#running) await raceSignal(this.#sendGoodbye(a), options.signal)
  }

  #newAnnouncement(
    self: LocalPeer,
    txt: Buffer[],
    port: number,
    baseLabel: string,
    attempt: number,
    hostAttempt: number,
  ): Announcement {
    let resolveAnnounced!: () => void
    let rejectAnnounced!: (error: unknown) => void
    const announced = new Promise<void>((resolve, reject) => {
      resolveAnnounced = resolve
      rejectAnnounced = reject
    })
    announced.catch(() => {})
    const a: Announcement = {
      self,
      txt,
      port,
      baseLabel,
      attempt,
      hostAttempt,
      instanceName: '',
      hostName: '',
      state: 'idle',
      conflict: false,
      lostTiebreak: false,
      abort: new AbortController(),
      announced,
      resolveAnnounced,
      rejectAnnounced,
    }
    this.#applyNames(a)
    return a
  }

  #applyNames(a: Announcement): void {
    a.instanceName = `${escapeLabel(renamedInstanceLabel(a.baseLabel, a.attempt))}.${this.#serviceName}`
    a.hostName = `${hostLabelFor(a.self.id, a.hostAttempt)}.${DOMAIN}`
  }

  #cancelAnnouncement(a: Announcement): void {
    a.abort.abort(new AbortError('announcement replaced or stopped'))
    a.rejectAnnounced(new AbortError('announcement replaced or stopped'))
  }

  #beginAnnouncement(a: Announcement): void {
    if (a.state !== 'idle') return
    void this.#probeAndAnnounce(a).catch((error: unknown) => {
      a.rejectAnnounced(error)
      if (!(error instanceof AbortError) && (error as Error)?.name !== 'AbortError') this.reportError(error)
    })
  }

  async #probeAndAnnounce(a: Announcement): Promise<void> {
    const signal = a.abort.signal
    const recent: number[] = []
    if (this.#probe) {
      for (;;) {
        a.state = 'probing'
        a.conflict = false
        a.lostTiebreak = false
        await delay(Math.random() * 250, signal)
        for (let i = 0; i < 3 && !a.conflict && !a.lostTiebreak; i++) {
          await this.#sendProbe(a)
          await delay(250, signal)
        }
        if (a.conflict) {
          this.#mstats.conflicts++
          a.attempt++
          a.hostAttempt++
          this.#applyNames(a)
          this.log.info('name conflict: renamed', { instance: a.instanceName, host: a.hostName })
          // RFC 6762 section 8.1: after 15 conflicts in 10 s, wait 5 s between attempts
          const now = Date.now()
          recent.push(now)
          while (recent.length > 0 && recent[0]! < now - 10_000) recent.shift()
          if (recent.length >= 15) await delay(5000, signal)
          continue
        }
        if (a.lostTiebreak) {
          await delay(1000, signal)
          continue
        }
        break
      }
    }
    throwIfAborted(signal)
    this.#announceNow(a)
  }

  #announceNow(a: Announcement): void {
    a.state = 'announced'
    const sends = [...this.#sockets.values()].map((s) => this.#sendAnnouncement(s, a))
    void Promise.all(sends).then(() => a.resolveAnnounced())
    let interval = 1000
    let at = 0
    for (let i = 1; i < this.#announcements; i++) {
      at += interval
      interval *= 2
      this.#later(at, () => {
        if (this.#announcement !== a || a.state !== 'announced') return
        for (const s of this.#sockets.values()) void this.#sendAnnouncement(s, a)
      })
    }
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (this.#running) fn()
    }, ms)
    this.#timers.add(timer)
  }

  // ---------------------------------------------------------------------------------------------
  // our records

  /** The addresses to publish on `iface`: its own, filtered by the hosts the node announced. */
  #addressesFor(iface: MdnsInterface, a: Announcement): Array<{ type: 'A' | 'AAAA'; address: string }> {
    const all = [
      ...iface.ipv4.map((x) => ({ type: 'A' as const, address: x.address })),
      // routable IPv6 first: resolvers that keep one AAAA (Avahi) should not pick the link-local one
      ...[...iface.ipv6]
        .sort((x, y) => Number(x.linkLocal) - Number(y.linkLocal))
        .map((x) => ({ type: 'AAAA' as const, address: x.address })),
    ]
    const specific = new Set(
      a.self.addresses
        .map((x) => x.host.toLowerCase())
        .filter((h) => h !== '0.0.0.0' && h !== '::' && /^[0-9a-f:.]+$/.test(h)),
    )
    if (specific.size === 0) return all
    const chosen = all.filter((x) => specific.has(x.address.toLowerCase()))
    return chosen.length > 0 ? chosen : all
  }

  /** Our records for `iface`; `mode` picks the TTLs: normal, goodbye (0) or legacy unicast (<= 10). */
  #records(iface: MdnsInterface, a: Announcement, mode: 'normal' | 'goodbye' | 'legacy' = 'normal') {
    const legacy = mode === 'legacy'
    const ttl = mode === 'goodbye' ? 0 : legacy ? Math.min(this.#ttl, 10) : this.#ttl
    const long = mode === 'goodbye' ? 0 : legacy ? Math.min(this.#serviceTtl, 10) : this.#serviceTtl
    const flush = !legacy && ttl > 0
    const ptr: Answer = { name: this.#serviceName, type: 'PTR', ttl: long, data: a.instanceName }
    const meta: Answer = { name: SERVICES_META, type: 'PTR', ttl: long, data: this.#serviceName }
    const srv: Answer = {
      name: a.instanceName,
      type: 'SRV',
      ttl,
      flush,
      data: { target: a.hostName, port: a.port, priority: 0, weight: 0 },
    }
    const txt: Answer = { name: a.instanceName, type: 'TXT', ttl: long, flush, data: a.txt }
    const addresses: Answer[] = this.#addressesFor(iface, a).map((x) => ({
      name: a.hostName,
      type: x.type,
      ttl,
      flush,
      data: x.address,
    }))
    return { ptr, meta, srv, txt, addresses }
  }

  #isOurRecord(a: Announcement, record: Answer): boolean {
    const name = nameKey(record.name)
    if (name === nameKey(a.instanceName)) {
      if (record.type === 'SRV') {
        const d = record.data as { target?: string; port?: number }
        return nameKey(String(d?.target ?? '')) === nameKey(a.hostName) && d?.port === a.port
      }
      if (record.type === 'TXT') return sameTxt(record.data, a.txt)
      return true
    }
    if (name === nameKey(a.hostName)) {
      if (record.type !== 'A' && record.type !== 'AAAA') return true
      for (const iface of this.#interfaces.values()) {
        if (this.#addressesFor(iface, a).some((x) => x.address === record.data)) return true
      }
      return false
    }
    return true
  }

  async #sendProbe(a: Announcement): Promise<void> {
    await Promise.all(
      [...this.#sockets.values()].map((s) => {
        const r = this.#records(s.socket.iface, a)
        const packet: Packet = {
          type: 'query',
          id: 0,
          flags: 0,
          questions: [
            { name: a.instanceName, type: TYPE_ANY as 'A', class: 'IN' },
            { name: a.hostName, type: TYPE_ANY as 'A', class: 'IN' },
          ],
          authorities: [r.srv, r.txt, ...r.addresses].map((x) => ({ ...x, flush: false })),
        }
        return this.#send(s, packet)
      }),
    )
  }

  async #sendAnnouncement(s: SocketState, a: Announcement): Promise<void> {
    const r = this.#records(s.socket.iface, a)
    const now = Date.now()
    for (const x of [r.ptr, r.meta, r.srv, r.txt, ...r.addresses]) s.lastMulticast.set(recordKey(x), now)
    await this.#send(s, {
      type: 'response',
      id: 0,
      flags: AA,
      answers: [r.ptr, r.srv, r.txt, ...r.addresses, r.meta],
    })
  }

  async #sendGoodbye(a: Announcement): Promise<void> {
    await Promise.all(
      [...this.#sockets.values()].map((s) => {
        const r = this.#records(s.socket.iface, a, 'goodbye')
        return this.#send(s, {
          type: 'response',
          id: 0,
          flags: AA,
          answers: [r.ptr, r.srv, r.txt, ...r.addresses],
        })
      }),
    )
  }

  async #send(s: SocketState, packet: Packet, destination?: Destination): Promise<void> {
    this.#mstats.packetsSent++
    if (packet.type === 'query') {
      s.ownQueries.set(querySignature(packet), Date.now())
      if (s.ownQueries.size > 64) s.ownQueries.delete(s.ownQueries.keys().next().value!)
    }
    await s.socket.send(packet, destination)
  }

  // ---------------------------------------------------------------------------------------------
  // interfaces

  /** Re-reads the interfaces and opens/closes sockets; runs one at a time. */
  #syncInterfaces(): Promise<void> {
    const generation = this.#generation
    const next = this.#syncChain.then(() => this.#doSyncInterfaces(generation))
    this.#syncChain = next.catch(() => {})
    return next
  }

  async #doSyncInterfaces(generation: number): Promise<void> {
    const live = () => this.#running && generation === this.#generation
    if (!live()) return
    const wanted = new Map(selectInterfaces(this.#filter, this.#interfaceSource).map((i) => [i.name, i]))
    const useV6 = this.#filter.ipv6 ?? true
    const changed: MdnsInterface[] = []
    // interfaces that went away or changed
    for (const [name, old] of this.#interfaces) {
      const now = wanted.get(name)
      if (now === undefined || interfaceFingerprint(now) !== interfaceFingerprint(old)) {
        if (now !== undefined && this.#announcement?.state === 'announced') {
          await this.#goodbyeRemovedAddresses(old, now, this.#announcement)
          if (!live()) return
        }
        for (const family of [4, 6] as const) {
          const key = `${name}/${family}`
          const s = this.#sockets.get(key)
          if (s === undefined) continue
          this.#sockets.delete(key)
          clearTimeout(s.queryTimer)
          await s.socket.close()
        }
        if (!live()) return
        this.#interfaces.delete(name)
        if (now === undefined) this.#flushInterface(name)
      }
    }
    for (const [name, iface] of wanted) {
      if (this.#interfaces.has(name) || !live()) continue
      this.#interfaces.set(name, iface)
      const families: Array<4 | 6> = []
      if (iface.ipv4.length > 0) families.push(4)
      if (useV6 && !iface.loopback && iface.ipv6.length > 0) families.push(6)
      for (const family of families) {
        const key = `${name}/${family}`
        const socket = new InterfaceSocket({
          iface,
          family,
          port: this.#port,
          onPacket: (packet, rinfo) => this.#onPacket(key, packet, rinfo),
          onMalformed: (error, rinfo) => {
            if (rinfo !== undefined && !isOnLink(rinfo.address, iface)) return
            this.#mstats.malformedPackets++
            this.countInvalid(`malformed packet: ${error.message}`)
          },
          onWarning: (error) => this.log.debug('socket warning', { iface: name, error: error.message }),
        })
        try {
          await socket.open()
        } catch (error) {
          // reported once per interface until a socket opens; the next poll tries again
          if (!this.#failing.has(name)) this.reportError(error)
          this.#failing.add(name)
          if (this.#failing.size > 256) this.#failing.clear()
          continue
        }
        this.#failing.delete(name)
        if (!live()) {
          await socket.close()
          return
        }
        const state: SocketState = {
          socket,
          queryInterval: 1000,
          tokens: this.#maxPps,
          lastRefill: Date.now(),
          lastMulticast: new Map(),
          ownQueries: new Map(),
        }
        this.#sockets.set(key, state)
        this.#scheduleBrowse(state, 20 + Math.random() * 100)
      }
      // nothing opened: forget the interface so that the next poll retries it
      if (![...this.#sockets.values()].some((x) => x.socket.iface.name === name)) {
        this.#interfaces.delete(name)
        continue
      }
      changed.push(iface)
    }
    const a = this.#announcement
    if (a?.state === 'announced') {
      for (const iface of changed) {
        for (const s of this.#sockets.values())
          if (s.socket.iface.name === iface.name) void this.#sendAnnouncement(s, a)
      }
    }
  }

  async #goodbyeRemovedAddresses(old: MdnsInterface, now: MdnsInterface, a: Announcement): Promise<void> {
    const current = new Set([...now.ipv4, ...now.ipv6].map((x) => x.address))
    const gone = this.#addressesFor(old, a).filter((x) => !current.has(x.address))
    if (gone.length === 0) return
    const answers: Answer[] = gone.map((x) => ({ name: a.hostName, type: x.type, ttl: 0, data: x.address }))
    for (const s of this.#sockets.values()) {
      if (s.socket.iface.name === old.name)
        await this.#send(s, { type: 'response', id: 0, flags: AA, answers })
    }
  }

  /** An interface went away: records learned on it are flushed (RFC 6762 section 10.3 spirit). */
  #flushInterface(name: string): void {
    const now = Date.now()
    for (const [key, entry] of this.#cache.instances) {
      for (const field of ['ptr', 'srv', 'txt'] as const)
        if (entry[field]?.iface === name) entry[field] = undefined
      this.#evaluate(key, entry, now, 'unreachable')
    }
    for (const host of this.#cache.hosts.values()) {
      for (const [addr, rec] of host.addresses) if (rec.iface === name) host.addresses.delete(addr)
      for (const entry of this.#cache.instancesOf(host.name))
        this.#evaluate(nameKey(entry.name), entry, now, 'unreachable')
    }
  }

  // ---------------------------------------------------------------------------------------------
  // browsing

  #scheduleBrowse(s: SocketState, ms: number): void {
    clearTimeout(s.queryTimer)
    s.queryTimer = setTimeout(() => {
      if (!this.#running) return
      if (!this.#duplicateOfForeignQuery(s)) void this.#sendBrowseQuery(s)
      s.queryInterval = Math.min(s.queryInterval * 2, this.#maxQueryInterval)
      this.#scheduleBrowse(s, s.queryInterval / 2)
    }, ms)
  }

  /** PTR records we would list as known answers on `s` (remaining TTL at least half). */
  #knownAnswers(s: SocketState, now: number): Answer[] {
    const known: Answer[] = []
    // up to ~8900 bytes (RFC 6762 section 17 allows 9000); on a 1500-byte link IP fragments it
    let size = 60
    for (const entry of this.#cache.instances.values()) {
      const ptr = entry.ptr
      if (ptr === undefined || ptr.iface !== s.socket.iface.name || ptr.goodbye) continue
      const remaining = (ptr.expires - now) / 1000
      if (remaining < ptr.ttl / 2) continue
      size += this.#serviceName.length + entry.name.length + 14
      if (size > 8900) break
      known.push({ name: this.#serviceName, type: 'PTR', ttl: Math.floor(remaining), data: entry.name })
    }
    return known
  }

  /**
   * Duplicate question suppression (RFC 6762 section 7.3): another host asked the same PTR
   * question within the last second and listed no instance we would not list: its answers reach
   * us too, so our own query is not needed.
   */
  #duplicateOfForeignQuery(s: SocketState): boolean {
    const foreign = s.foreignPtrQuery
    const now = Date.now()
    if (foreign === undefined || now - foreign.at > 1000) return false
    const ours = new Set(this.#knownAnswers(s, now).map((a) => nameKey(String(a.data))))
    for (const k of foreign.known) if (!ours.has(k)) return false
    return true
  }

  #sendBrowseQuery(s: SocketState, ptr = true, extra: Question[] = []): Promise<void> {
    const known = ptr ? this.#knownAnswers(s, Date.now()) : []
    return this.#send(s, {
      type: 'query',
      id: 0,
      flags: 0,
      questions: [...(ptr ? [{ name: this.#serviceName, type: 'PTR', class: 'IN' }] : []), ...extra],
      answers: known,
    })
  }

  #onPacket(key: string, packet: Packet, rinfo: RemoteInfo): void {
    const s = this.#sockets.get(key)
    if (s === undefined || !this.#running) return
    const iface = s.socket.iface
    // every socket sees every interface's packets (IP_MULTICAST_ALL): keep those from this link
    if (!isOnLink(rinfo.address, iface)) return
    const now = Date.now()
    s.tokens = Math.min(this.#maxPps, s.tokens + ((now - s.lastRefill) / 1000) * this.#maxPps)
    s.lastRefill = now
    if (s.tokens < 1) {
      this.#mstats.floodDrops++
      return
    }
    s.tokens--
    this.#mstats.packetsReceived++
    try {
      if (packet.type === 'query') {
        this.#noteForeignQuery(s, packet, rinfo, now)
        this.#onQuery(s, packet, rinfo)
      } else if (packet.type === 'response') {
        if (rinfo.port !== this.#port) {
          this.#mstats.badSourcePort++
          return
        }
        this.#onResponse(s, packet, now)
      }
    } catch (error) {
      this.countInvalid(`packet handling failed: ${errorMessage(error)}`)
    }
  }

  #onResponse(s: SocketState, packet: Packet, now: number): void {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
    const a = this.#announcement
    if (a !== undefined && a.state !== 'idle') this.#checkConflicts(a, records)
    const iface = s.socket.iface.name
    const via = socketKey(s.socket)
    const jitter = Math.random() * 0.02
    const suffix = `.${nameKey(this.#serviceName)}`
    const touched = new Set<string>()
    // pass 1: PTR, SRV, TXT of our service type
    for (const r of records) {
      const name = nameKey(String(r.name ?? ''))
      if (r.type === 'PTR' && name === nameKey(this.#serviceName)) {
        const target = typeof r.data === 'string' ? r.data : ''
        if (!nameKey(target).endsWith(suffix)) {
          this.countInvalid('PTR does not point at an instance of the service')
          continue
        }
        const entry = this.#instanceEntry(target, now)
        if (entry === undefined) continue
        entry.ptr = cachedRecord(ttlOf(r), now, iface, via, jitter)
        touched.add(nameKey(target))
      } else if ((r.type === 'SRV' || r.type === 'TXT') && name.endsWith(suffix)) {
        const entry = this.#instanceEntry(String(r.name), now)
        if (entry === undefined) continue
        if (r.type === 'SRV') {
          const d = r.data as { target?: unknown; port?: unknown } | undefined
          if (typeof d?.target !== 'string' || typeof d.port !== 'number' || d.port < 1 || d.port > 65535) {
            this.countInvalid('SRV without a target or with port 0')
            continue
          }
          entry.srv = { ...cachedRecord(ttlOf(r), now, iface, via, jitter), target: d.target, port: d.port }
        } else {
          const data = Array.isArray(r.data) ? (r.data as Buffer[]) : [Buffer.from(String(r.data ?? ''))]
          entry.txt = {
            ...cachedRecord(ttlOf(r), now, iface, via, jitter),
            data,
            signature: txtSignature(data),
          }
        }
        touched.add(nameKey(String(r.name)))
      }
    }
    // pass 2: addresses of hosts some instance points at
    for (const r of records) {
      if (r.type !== 'A' && r.type !== 'AAAA') continue
      const host = String(r.name ?? '')
      if (!this.#cache.isTarget(host)) continue
      const entry = this.#cache.host(host)
      if (entry === undefined) {
        this.#mstats.cacheOverflows++
        continue
      }
      let address = String(r.data ?? '')
      const family = r.type === 'A' ? 4 : 6
      if (family === 6 && /^fe[89ab]/i.test(address)) address = `${address}%${iface}`
      if (r.flush) {
        // RFC 6762 section 10.2: older records of this name and type on this link are stale
        for (const [addr, rec] of entry.addresses) {
          if (
            rec.family === family &&
            rec.iface === iface &&
            addr !== address &&
            now - rec.received > 1000 &&
            !rec.goodbye
          ) {
            rec.expires = now + 1000
            rec.goodbye = true
          }
        }
      }
      const result = this.#cache.addAddress(
        entry,
        address,
        family,
        cachedRecord(ttlOf(r), now, iface, via, jitter),
      )
      if (result === 'full') this.#mstats.cacheOverflows++
      for (const inst of this.#cache.instancesOf(host)) touched.add(nameKey(inst.name))
    }
    for (const key of touched) {
      const entry = this.#cache.instances.get(key)
      if (entry !== undefined) this.#evaluate(key, entry, now)
    }
  }

  #instanceEntry(name: string, now: number): InstanceEntry | undefined {
    const entry = this.#cache.instance(name, now)
    if (entry === undefined) this.#mstats.cacheOverflows++
    return entry
  }

  #checkConflicts(a: Announcement, records: Answer[]): void {
    for (const r of records) {
      const name = nameKey(String(r.name ?? ''))
      if (name !== nameKey(a.instanceName) && name !== nameKey(a.hostName)) continue
      if (r.type === 'PTR' || r.type === 'NSEC' || (r.ttl ?? 0) === 0) continue
      if (this.#isOurRecord(a, r)) continue
      if (a.state === 'probing') a.conflict = true
      else if (a.state === 'announced') {
        // RFC 6762 section 9: a conflicting response after announcing: probe again
        this.log.info('conflicting response for an announced name: probing again', { name })
        this.#restartProbing(a)
      }
      return
    }
  }

  #restartProbing(a: Announcement): void {
    a.abort.abort(new AbortError('restart probing'))
    a.abort = new AbortController()
    a.state = 'idle'
    this.#beginAnnouncement(a)
  }

  /** Reports, updates or loses the peer of an instance from what the cache holds now. */
  #evaluate(key: string, entry: InstanceEntry, now: number, lostReason?: string): void {
    const { ptr, srv, txt } = entry
    const alive = (r: CachedRecord | undefined) => r !== undefined && r.expires > now
    if (!alive(ptr) || !alive(srv) || !alive(txt)) {
      const goodbye = [ptr, srv, txt].some((r) => r?.goodbye)
      const wasReported = entry.reportedId !== undefined
      this.#unreport(key, entry, lostReason ?? (goodbye ? 'withdrawn' : 'expired'))
      // a lost node's long-lived PTR/TXT are forgotten too: it is not "unresolvable"
      if (wasReported || (!ptr && !srv && !txt)) this.#cache.instances.delete(key)
      return
    }
    const host = this.#cache.hosts.get(nameKey(srv!.target))
    const addresses = host
      ? [...host.addresses.values()]
          .filter((x) => x.expires > now)
          .sort((x, y) => rank(x.address) - rank(y.address))
          .map((x) => x.address)
      : []
    if (addresses.length === 0) {
      if (entry.reportedId !== undefined) this.#unreport(key, entry, lostReason ?? 'unreachable')
      return
    }
    if (entry.invalidSignature === txt!.signature) return
    const decoded = decodeTxt(txt!.data, this.#txtLimits)
    const id = decoded.entries.get('id')
    const pv = decoded.entries.get('pv')
    if (pv !== undefined && pv.split('.')[0] !== PROTOCOL_VERSION) {
      entry.invalidSignature = txt!.signature
      this.countInvalid(`unsupported protocol version ${pv}`)
      return
    }
    const maxMeta = this.recordLimits.maxMetaEntries ?? DEFAULT_RECORD_LIMITS.maxMetaEntries
    const meta: Record<string, string> = {}
    let metaCount = 0
    for (const [k, v] of decoded.entries) {
      if (RESERVED_TXT_KEYS.has(k)) continue
      if (metaCount >= maxMeta) {
        decoded.problems.push(`more than ${maxMeta} meta entries`)
        break
      }
      meta[k] = v
      metaCount++
    }
    if (decoded.problems.length > 0 && entry.countedSignature !== txt!.signature) {
      entry.countedSignature = txt!.signature
      for (const problem of decoded.problems) {
        this.#mstats.badTxt++
        this.countInvalid(problem)
      }
    }
    const record = {
      id,
      name: decoded.entries.get('name'),
      addresses: addresses.map((host) => ({ host, port: srv!.port })),
      meta: metaCount > 0 ? meta : undefined,
      ttl: srv!.ttl,
    }
    if (entry.reportedId !== undefined && entry.reportedId !== id) this.#unreport(key, entry, 'removed')
    const accepted = this.reportPeer(record)
    if (accepted === undefined) {
      // invalid (counted by reportPeer), ourselves, or the peer map is full: do not retry this TXT
      entry.invalidSignature = txt!.signature
      return
    }
    entry.reportedId = accepted.id
    let keys = this.#reportedBy.get(accepted.id)
    if (keys === undefined) {
      keys = new Set()
      this.#reportedBy.set(accepted.id, keys)
    }
    keys.add(key)
  }

  #unreport(key: string, entry: InstanceEntry, reason: string): void {
    const id = entry.reportedId
    if (id === undefined) return
    entry.reportedId = undefined
    entry.firstSeen = Date.now()
    entry.resolveAttempts = 0
    const keys = this.#reportedBy.get(id)
    keys?.delete(key)
    if (keys === undefined || keys.size === 0) {
      this.#reportedBy.delete(id)
      this.reportLost(id, reason)
    }
  }

  /** Expiry, refresh queries, resolve queries and timeouts. */
  #tick(): void {
    if (!this.#running) return
    const now = Date.now()
    // per socket: extra questions, and whether a PTR query (with known answers) is due
    const questions = new Map<string, Map<string, Question>>()
    const browse = new Set<string>()
    const ask = (via: string, name: string, type: string) => {
      let q = questions.get(via)
      if (q === undefined) {
        q = new Map()
        questions.set(via, q)
      }
      q.set(`${nameKey(name)}|${type}`, { name, type: type as 'A', class: 'IN' })
    }
    for (const [key, entry] of this.#cache.instances) {
      const expired = [entry.ptr, entry.srv, entry.txt].some((r) => r !== undefined && r.expires <= now)
      if (expired) {
        const goodbye = [entry.ptr, entry.srv, entry.txt].some(
          (r) => r !== undefined && r.expires <= now && r.goodbye,
        )
        for (const f of ['ptr', 'srv', 'txt'] as const)
          if (entry[f] !== undefined && entry[f].expires <= now) entry[f] = undefined
        this.#evaluate(key, entry, now, goodbye ? 'withdrawn' : 'expired')
        if (!this.#cache.instances.has(key)) continue
      }
      if (entry.invalidSignature !== undefined) continue
      if (entry.reportedId === undefined) {
        if (entry.ptr === undefined) continue
        // unresolved: ask for what is missing, give up after resolveTimeout
        if (now - entry.firstSeen > this.#resolveTimeout) {
          this.#cache.instances.delete(key)
          this.#mstats.unresolvable++
          this.countInvalid(`instance ${entry.name} could not be resolved`)
          continue
        }
        if (now >= entry.nextResolve) {
          entry.resolveAttempts++
          entry.nextResolve = now + 1000 * 2 ** Math.min(entry.resolveAttempts - 1, 3)
          const via = entry.ptr.via
          if (entry.srv === undefined) ask(via, entry.name, 'SRV')
          if (entry.txt === undefined) ask(via, entry.name, 'TXT')
          if (entry.srv !== undefined) {
            ask(via, entry.srv.target, 'A')
            ask(via, entry.srv.target, 'AAAA')
          }
        }
        continue
      }
      // the PTR query at 80% (known answers exclude everything not due) refreshes SRV, TXT and
      // addresses too, as additional records; they are asked for by name only from 85% on
      if (entry.ptr && dueForRefresh(entry.ptr, now)) {
        // someone else just asked without listing this instance: the answer refreshes us too
        const foreign = this.#sockets.get(entry.ptr.via)?.foreignPtrQuery
        if (!(foreign && now - foreign.at < 1000 && !foreign.known.has(key))) browse.add(entry.ptr.via)
      }
      if (entry.srv && dueForRefresh(entry.srv, now, 1)) ask(entry.srv.via, entry.name, 'SRV')
      if (entry.txt && dueForRefresh(entry.txt, now, 1)) ask(entry.txt.via, entry.name, 'TXT')
    }
    for (const host of this.#cache.hosts.values()) {
      let changed = false
      for (const [addr, rec] of host.addresses) {
        if (rec.expires <= now) {
          host.addresses.delete(addr)
          changed = true
        } else if (dueForRefresh(rec, now, 1)) ask(rec.via, host.name, rec.family === 4 ? 'A' : 'AAAA')
      }
      if (changed) for (const e of this.#cache.instancesOf(host.name)) this.#evaluate(nameKey(e.name), e, now)
    }
    this.#cache.pruneHosts()
    for (const via of new Set([...questions.keys(), ...browse])) {
      const s = this.#sockets.get(via)
      if (s === undefined) continue
      const extra = [...(questions.get(via)?.values() ?? [])]
      void this.#sendBrowseQuery(s, browse.has(via), extra)
    }
    for (const s of this.#sockets.values()) {
      if (s.lastMulticast.size > 256) s.lastMulticast.clear()
    }
  }

  // ---------------------------------------------------------------------------------------------
  // responding

  /**
   * Duplicate question suppression (RFC 6762 section 7.3): remember another host's PTR query for
   * our service, so that our own refresh of an instance it did not list as known is not needed.
   */
  #noteForeignQuery(s: SocketState, packet: Packet, rinfo: RemoteInfo, now: number): void {
    if (rinfo.port !== this.#port) return
    const sentAt = s.ownQueries.get(querySignature(packet))
    if (sentAt !== undefined && now - sentAt < 100) return
    const service = nameKey(this.#serviceName)
    if (!(packet.questions ?? []).some((q) => nameKey(q.name) === service && q.type === 'PTR')) return
    const known = new Set<string>()
    for (const a of packet.answers ?? []) {
      if (a.type === 'PTR' && nameKey(String(a.name)) === service && typeof a.data === 'string')
        known.add(nameKey(a.data))
      if (known.size >= 256) break
    }
    s.foreignPtrQuery = { at: now, known }
  }

  #onQuery(s: SocketState, packet: Packet, rinfo: RemoteInfo): void {
    const a = this.#announcement
    if (a === undefined || a.state === 'idle') return
    // our own query looped back (same content within 100 ms): nothing to answer
    const sentAt = s.ownQueries.get(querySignature(packet))
    if (sentAt !== undefined && Date.now() - sentAt < 100 && rinfo.port === this.#port) return
    const questions = packet.questions ?? []
    const authorities = packet.authorities ?? []
    if (a.state === 'probing') {
      // a simultaneous probe for our names: the lexicographically later data wins (section 8.2)
      for (const q of questions) {
        const name = nameKey(q.name)
        if (name !== nameKey(a.instanceName) && name !== nameKey(a.hostName)) continue
        const theirs = authorities.filter((r) => nameKey(String(r.name)) === name)
        if (theirs.length === 0 || theirs.every((r) => this.#isOurRecord(a, r))) continue
        const ours = this.#records(s.socket.iface, a)
        const mine = name === nameKey(a.instanceName) ? [ours.srv, ours.txt] : ours.addresses
        if (compareRecordSets(theirs, mine) > 0) a.lostTiebreak = true
      }
      return
    }
    const legacy = rinfo.port !== this.#port
    const r = this.#records(s.socket.iface, a, legacy ? 'legacy' : 'normal')
    const answers = new Map<string, Answer>()
    const additionals = new Map<string, Answer>()
    let probe = false
    let shared = false
    let unicast = legacy
    let allQu = questions.length > 0
    for (const q of questions) {
      const qu = isQu(q)
      if (!qu) allQu = false
      const name = nameKey(q.name)
      const type = String(q.type)
      const any = type === TYPE_ANY
      const add = (x: Answer) => answers.set(recordKey(x), x)
      const extra = (x: Answer) => additionals.set(recordKey(x), x)
      if (name === nameKey(this.#serviceName) && (type === 'PTR' || any)) {
        add(r.ptr)
        shared = true
        for (const x of [r.srv, r.txt, ...r.addresses]) extra(x)
      } else if (name === nameKey(SERVICES_META) && (type === 'PTR' || any)) {
        add(r.meta)
        shared = true
      } else if (name === nameKey(a.instanceName)) {
        if (authorities.some((x) => nameKey(String(x.name)) === name)) probe = true
        if (type === 'SRV' || any) add(r.srv)
        if (type === 'TXT' || any) add(r.txt)
        for (const x of r.addresses) extra(x)
      } else if (name === nameKey(a.hostName)) {
        if (authorities.some((x) => nameKey(String(x.name)) === name)) probe = true
        for (const x of r.addresses) if (type === x.type || any) add(x)
      }
    }
    if (answers.size === 0) return
    // known-answer suppression (RFC 6762 section 7.1)
    for (const known of packet.answers ?? []) {
      const k = recordKey(known)
      const ours = answers.get(k)
      if (ours !== undefined && (known.ttl ?? 0) >= (ours.ttl ?? 0) / 2) answers.delete(k)
    }
    for (const k of answers.keys()) additionals.delete(k)
    if (answers.size === 0) return
    if (allQu) unicast = true
    const now = Date.now()
    if (!unicast) {
      // do not multicast a record again within a second (a quarter second for probe defence)
      const window = probe ? 250 : 1000
      for (const [k, x] of answers) {
        const last = s.lastMulticast.get(`${recordKey(x)}`)
        if (last !== undefined && now - last < window) {
          answers.delete(k)
          this.#mstats.rateLimited++
        }
      }
      if (answers.size === 0) return
    }
    const response: Packet = {
      type: 'response',
      id: legacy ? (packet.id ?? 0) : 0,
      flags: AA,
      questions: legacy ? questions.map((q) => ({ ...q, class: 'IN' })) : [],
      answers: [...answers.values()],
      additionals: [...additionals.values()],
    }
    this.#mstats.queriesAnswered++
    const send = () => {
      if (!unicast) {
        const t = Date.now()
        for (const x of response.answers ?? []) s.lastMulticast.set(recordKey(x), t)
      }
      void this.#send(s, response, unicast ? { address: rinfo.address, port: rinfo.port } : undefined)
    }
    // shared records wait 20-120 ms so several responders do not collide (section 6)
    if (shared && !probe) this.#later(20 + Math.random() * 100, send)
    else send()
  }
}

const AA = 1 << 10

function socketKey(socket: InterfaceSocket): string {
  return `${socket.iface.name}/${socket.family}`
}

function querySignature(packet: Packet): string {
  const q = (packet.questions ?? []).map((x) => `${nameKey(x.name)}/${x.type}`).join(',')
  const k = (packet.answers ?? []).map((x) => recordKey(x)).join(',')
  const auth = (packet.authorities ?? []).map((x) => recordKey(x)).join(',')
  return `${q}#${k}#${auth}`
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number, got ${value}`)
  return value
}

function ttlOf(r: Answer): number {
  const ttl = typeof r.ttl === 'number' && Number.isFinite(r.ttl) ? r.ttl : 0
  return Math.min(Math.max(0, ttl), DEFAULT_RECORD_LIMITS.maxTtl)
}

function isQu(q: Question): boolean {
  const cls = q.class as unknown
  if (typeof cls === 'number') return (cls & 0x8000) !== 0
  const m = /^UNKNOWN_(\d+)$/.exec(String(cls))
  return m !== null && (Number(m[1]) & 0x8000) !== 0
}

function recordKey(x: Answer): string {
  let data: string
  if (x.type === 'SRV') {
    const d = x.data as { target: string; port: number }
    data = `${nameKey(d.target)}:${d.port}`
  } else if (x.type === 'TXT') data = txtSignature(x.data as Buffer[])
  else data = typeof x.data === 'string' ? nameKey(x.data) : JSON.stringify(x.data)
  return `${nameKey(String(x.name))}|${x.type}|${data}`
}

function txtSignature(data: unknown): string {
  const list = Array.isArray(data) ? data : [data]
  return list.map((b) => Buffer.from(b as Buffer).toString('base64')).join(',')
}

function sameTxt(a: unknown, b: Buffer[]): boolean {
  return txtSignature(a) === txtSignature(b)
}

function rank(address: string): number {
  if (!address.includes(':')) return 0
  return address.includes('%') ? 2 : 1
}

function compareRecordSets(theirs: readonly Answer[], ours: readonly Answer[]): number {
  const enc = (xs: readonly Answer[]) => xs.map((x) => `${x.type}|${recordKey(x).split('|')[2]}`).sort()
  const t = enc(theirs)
  const o = enc(ours)
  for (let i = 0; i < Math.min(t.length, o.length); i++) {
    if (t[i]! > o[i]!) return 1
    if (t[i]! < o[i]!) return -1
  }
  return t.length - o.length
}

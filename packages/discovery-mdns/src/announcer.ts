// The announcer / prober (RFC 6762 sections 8-10): owns this node's records, probes for its names
// (QU questions, section 8.1), announces, renames on conflict (rate-limited across restarts:
// at most 15 conflicts in 10 s, then 5 s between attempts), answers a spoofed goodbye for one of
// its records by announcing the record again at once, and says goodbye (with the service-type
// PTR, section 10.1) on withdraw and stop.
import {
  AbortError,
  delay,
  isLoopbackHost,
  isWildcardHost,
  type LocalPeer,
  throwIfAborted,
} from '@peer/discovery-core'
import { BoundedMap } from '@peer/discovery-core/internal'
import type { MdnsContext, SocketState } from './context.js'
import { escapeLabel, hostLabelFor, nameKey, renamedInstanceLabel } from './instance-name.js'
import type { MdnsInterface } from './interfaces.js'
import { DOMAIN, recordKey, SERVICES_META, txtSignature } from './records.js'
import { type DnsPacket, type DnsRecord, FLAG_AA } from './wire.js'

/** This node's announcement and where its state machine is. */
export interface Announcement {
  self: LocalPeer
  txt: Buffer[]
  port: number
  baseLabel: string
  attempt: number
  hostAttempt: number
  /** Escaped instance name, e.g. `4002@10\.0\.0\.1._peer._udp.local`. */
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

/** This node's records on one interface. */
export interface OwnRecords {
  ptr: DnsRecord
  meta: DnsRecord
  srv: DnsRecord
  txt: DnsRecord
  addresses: DnsRecord[]
}

/** Options of the {@link Announcer}. */
export interface AnnouncerOptions {
  ttl: number
  serviceTtl: number
  probe: boolean
  announcements: number
}

/**
 * RFC 6762 section 8.1: after 15 conflicts within 10 s, wait 5 s before each further probe. Kept
 * across probe restarts, so an attacker who answers every probe cannot make us rename faster.
 */
export class ConflictLimiter {
  readonly #times: number[] = []
  constructor(
    readonly max = 15,
    readonly windowMs = 10_000,
    readonly waitMs = 5000,
  ) {}

  /** Records a conflict at `now`. */
  note(now: number): void {
    this.#times.push(now)
    while (this.#times.length > this.max + 1) this.#times.shift()
  }

  /** How long to wait before the next probe, ms. */
  waitBefore(now: number): number {
    const recent = this.#times.filter((t) => t > now - this.windowMs)
    return recent.length >= this.max ? this.waitMs : 0
  }
}

/** Probing, announcing, renaming and goodbyes of this node's records. */
export class Announcer {
  readonly #ctx: MdnsContext
  readonly #options: AnnouncerOptions
  readonly #limiter = new ConflictLimiter()
  /** record key -> a re-announcement is already scheduled (spoofed goodbye) */
  readonly #refreshing = new Set<string>()
  /** record key -> when we sent a goodbye for it ourselves (its multicast loopback is no spoof) */
  readonly #ownGoodbyes = new BoundedMap<string, number>(256)
  /** Whether the interfaces a loopback-only announcement is not published on were logged. */
  #saidUnpublished = false
  current: Announcement | undefined

  constructor(ctx: MdnsContext, options: AnnouncerOptions) {
    this.#ctx = ctx
    this.#options = options
  }

  /** Forgets pending re-announcements and recent goodbyes (on stop). */
  clear(): void {
    this.#refreshing.clear()
    this.#ownGoodbyes.clear()
  }

  create(self: LocalPeer, txt: Buffer[], port: number, baseLabel: string, attempt = 1, hostAttempt = 1) {
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
    a.instanceName = `${escapeLabel(renamedInstanceLabel(a.baseLabel, a.attempt))}.${this.#ctx.serviceName}`
    a.hostName = `${hostLabelFor(a.self.id, a.hostAttempt)}.${DOMAIN}`
  }

  cancel(a: Announcement): void {
    a.abort.abort(new AbortError('announcement replaced or stopped'))
    a.rejectAnnounced(new AbortError('announcement replaced or stopped'))
  }

  begin(a: Announcement): void {
    if (a.state !== 'idle') return
    void this.#probeAndAnnounce(a).catch((error: unknown) => {
      a.rejectAnnounced(error)
      if (!(error instanceof AbortError) && (error as Error)?.name !== 'AbortError')
        this.#ctx.reportError(error)
    })
  }

  restartProbing(a: Announcement): void {
    a.abort.abort(new AbortError('restart probing'))
    a.abort = new AbortController()
    a.state = 'idle'
    this.begin(a)
  }

  async #probeAndAnnounce(a: Announcement): Promise<void> {
    const signal = a.abort.signal
    if (this.#options.probe) {
      for (;;) {
        a.state = 'probing'
        a.conflict = false
        a.lostTiebreak = false
        const wait = this.#limiter.waitBefore(Date.now())
        if (wait > 0) this.#ctx.stats.conflictBackoffs++
        await delay(wait + Math.random() * 250, signal)
        for (let i = 0; i < 3 && !a.conflict && !a.lostTiebreak; i++) {
          await this.#sendProbe(a)
          await delay(250, signal)
        }
        if (a.conflict) {
          this.#ctx.stats.conflicts++
          this.#limiter.note(Date.now())
          a.attempt++
          a.hostAttempt++
          this.#applyNames(a)
          this.#ctx.log.info('name conflict: renamed', { instance: a.instanceName, host: a.hostName })
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
    this.announceNow(a)
  }

  announceNow(a: Announcement): void {
    a.state = 'announced'
    const sends = this.#publishing(a).map((s) => this.sendAnnouncement(s, a))
    void Promise.all(sends).then(() => a.resolveAnnounced())
    let interval = 1000
    let at = 0
    for (let i = 1; i < this.#options.announcements; i++) {
      at += interval
      interval *= 2
      this.#ctx.later(at, () => {
        if (this.current !== a || a.state !== 'announced') return
        for (const s of this.#publishing(a)) void this.sendAnnouncement(s, a)
      })
    }
  }

  /**
   * Whether this node's records go out on `iface`: everywhere, except that a node announcing only
   * loopback addresses (it listens on 127.0.0.1 or ::1) is not published on other interfaces,
   * where no peer could reach it (their addresses would be published in its name).
   */
  publishesOn(iface: MdnsInterface, a: Announcement): boolean {
    return iface.loopback || !announcesOnlyLoopback(a.self)
  }

  /** The sockets of the interfaces `a` is published on; says once which ones it is not. */
  #publishing(a: Announcement): SocketState[] {
    const all = [...this.#ctx.sockets()]
    const used = all.filter((s) => this.publishesOn(s.socket.iface, a))
    if (used.length === all.length) this.#saidUnpublished = false
    else if (!this.#saidUnpublished) {
      this.#saidUnpublished = true
      const skipped = [...new Set(all.filter((s) => !used.includes(s)).map((s) => s.socket.iface.name))]
      this.#ctx.log.warn(
        'this node announces only loopback addresses, so it is not published on the interfaces where no peer could reach it: listen on 0.0.0.0 (or an address of those interfaces) to be found there',
        { addresses: a.self.addresses.map((x) => `${x.host}:${x.port}`), interfaces: skipped },
      )
    }
    return used
  }

  /** The addresses to publish on `iface`: its own, filtered by the hosts the node announced. */
  addressesFor(iface: MdnsInterface, a: Announcement): Array<{ type: 'A' | 'AAAA'; address: string }> {
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
        .filter((h) => !isWildcardHost(h) && /^[0-9a-f:.]+$/.test(h)),
    )
    if (specific.size === 0) return all
    const chosen = all.filter((x) => specific.has(x.address.toLowerCase()))
    return chosen.length > 0 ? chosen : all
  }

  /** Our records for `iface`; `mode` picks the TTLs: normal, goodbye (0) or legacy unicast (<= 10). */
  records(
    iface: MdnsInterface,
    a: Announcement,
    mode: 'normal' | 'goodbye' | 'legacy' = 'normal',
  ): OwnRecords {
    const legacy = mode === 'legacy'
    const { ttl: baseTtl, serviceTtl } = this.#options
    const ttl = mode === 'goodbye' ? 0 : legacy ? Math.min(baseTtl, 10) : baseTtl
    const long = mode === 'goodbye' ? 0 : legacy ? Math.min(serviceTtl, 10) : serviceTtl
    const flush = !legacy && ttl > 0
    const service = this.#ctx.serviceName
    const ptr: DnsRecord = { name: service, type: 'PTR', ttl: long, data: a.instanceName }
    const meta: DnsRecord = { name: SERVICES_META, type: 'PTR', ttl: long, data: service }
    const srv: DnsRecord = {
      name: a.instanceName,
      type: 'SRV',
      ttl,
      flush,
      data: { target: a.hostName, port: a.port, priority: 0, weight: 0 },
    }
    const txt: DnsRecord = { name: a.instanceName, type: 'TXT', ttl: long, flush, data: a.txt }
    const addresses: DnsRecord[] = this.addressesFor(iface, a).map((x) => ({
      name: a.hostName,
      type: x.type,
      ttl,
      flush,
      data: x.address,
    }))
    return { ptr, meta, srv, txt, addresses }
  }

  /** True when `record` (for one of our names) has our data. */
  isOurRecord(a: Announcement, record: DnsRecord): boolean {
    const name = nameKey(record.name)
    if (name === nameKey(a.instanceName)) {
      if (record.type === 'SRV') {
        const d = record.data as { target?: string; port?: number }
        return nameKey(String(d?.target ?? '')) === nameKey(a.hostName) && d?.port === a.port
      }
      if (record.type === 'TXT') return txtSignature(record.data) === txtSignature(a.txt)
      return true
    }
    if (name === nameKey(a.hostName)) {
      if (record.type !== 'A' && record.type !== 'AAAA') return true
      for (const iface of this.#ctx.interfaces()) {
        if (this.addressesFor(iface, a).some((x) => x.address === record.data)) return true
      }
      return false
    }
    return true
  }

  /**
   * Looks at a received response for records about our names: a conflicting record restarts
   * probing (or marks the probe lost), and a goodbye for one of our own records makes us announce
   * it again at once (like Avahi: "Received goodbye record for one of our records. Refreshing.").
   */
  checkResponse(records: readonly DnsRecord[]): void {
    const a = this.current
    if (a === undefined || a.state === 'idle') return
    const instance = nameKey(a.instanceName)
    const host = nameKey(a.hostName)
    const service = nameKey(this.#ctx.serviceName)
    let spoofedGoodbye = false
    for (const r of records) {
      const name = nameKey(String(r.name ?? ''))
      const goodbye = (r.ttl ?? 0) === 0
      if (
        goodbye &&
        a.state === 'announced' &&
        !this.#sentGoodbye(r) &&
        ((name === service && r.type === 'PTR' && nameKey(String(r.data)) === instance) ||
          ((name === instance || name === host) && r.type !== 'NSEC' && this.isOurRecord(a, r)))
      ) {
        spoofedGoodbye = true
        continue
      }
      if (name !== instance && name !== host) continue
      if (r.type === 'PTR' || r.type === 'NSEC' || goodbye) continue
      if (this.isOurRecord(a, r)) continue
      if (a.state === 'probing') a.conflict = true
      else if (a.state === 'announced') {
        // RFC 6762 section 9: a conflicting response after announcing: probe again
        this.#ctx.log.info('conflicting response for an announced name: probing again', { name })
        this.#limiter.note(Date.now())
        this.restartProbing(a)
      }
      return
    }
    if (spoofedGoodbye) this.#refreshAfterGoodbye(a)
  }

  #sentGoodbye(r: DnsRecord): boolean {
    const at = this.#ownGoodbyes.get(recordKey({ ...r, ttl: 0 }))
    return at !== undefined && Date.now() - at < 2000
  }

  #noteGoodbyes(records: readonly DnsRecord[]): void {
    const now = Date.now()
    for (const r of records) this.#ownGoodbyes.set(recordKey(r), now)
  }

  #refreshAfterGoodbye(a: Announcement): void {
    this.#ctx.stats.spoofedGoodbyes++
    const key = a.instanceName
    if (this.#refreshing.has(key)) return
    this.#refreshing.add(key)
    // at once, but at most one re-announcement per 250 ms however many goodbyes arrive
    this.#ctx.log.info('received a goodbye for one of our records: announcing it again', { name: key })
    for (const s of this.#publishing(a)) void this.sendAnnouncement(s, a)
    this.#ctx.later(250, () => this.#refreshing.delete(key))
  }

  async #sendProbe(a: Announcement): Promise<void> {
    await Promise.all(
      this.#publishing(a).map((s) => {
        const r = this.records(s.socket.iface, a)
        const packet: DnsPacket = {
          type: 'query',
          id: 0,
          flags: 0,
          // probes ask for unicast responses (RFC 6762 section 8.1)
          questions: [
            { name: a.instanceName, type: 'ANY', class: 'IN', qu: true },
            { name: a.hostName, type: 'ANY', class: 'IN', qu: true },
          ],
          authorities: [r.srv, r.txt, ...r.addresses].map((x) => ({ ...x, flush: false })),
        }
        return this.#ctx.send(s, packet)
      }),
    )
  }

  async sendAnnouncement(s: SocketState, a: Announcement): Promise<void> {
    const r = this.records(s.socket.iface, a)
    const now = Date.now()
    for (const x of [r.ptr, r.meta, r.srv, r.txt, ...r.addresses]) s.lastMulticast.set(recordKey(x), now)
    await this.#ctx.send(s, {
      type: 'response',
      id: 0,
      flags: FLAG_AA,
      answers: [r.ptr, r.srv, r.txt, ...r.addresses, r.meta],
    })
  }

  /** Goodbye (TTL 0) for every record, including the `_services._dns-sd._udp` PTR (section 10.1). */
  async sendGoodbye(a: Announcement): Promise<void> {
    await Promise.all(
      this.#publishing(a).map((s) => {
        const r = this.records(s.socket.iface, a, 'goodbye')
        const answers = [r.ptr, r.srv, r.txt, ...r.addresses, r.meta]
        this.#noteGoodbyes(answers)
        return this.#ctx.send(s, { type: 'response', id: 0, flags: FLAG_AA, answers })
      }),
    )
  }

  /** Goodbyes for addresses an interface lost. */
  async goodbyeRemovedAddresses(old: MdnsInterface, now: MdnsInterface, s: SocketState): Promise<void> {
    const a = this.current
    if (a?.state !== 'announced' || !this.publishesOn(old, a)) return
    const current = new Set([...now.ipv4, ...now.ipv6].map((x) => x.address))
    const gone = this.addressesFor(old, a).filter((x) => !current.has(x.address))
    if (gone.length === 0) return
    const answers: DnsRecord[] = gone.map((x) => ({
      name: a.hostName,
      type: x.type,
      ttl: 0,
      data: x.address,
    }))
    this.#noteGoodbyes(answers)
    await this.#ctx.send(s, { type: 'response', id: 0, flags: FLAG_AA, answers })
  }
}

/**
 * True when every host `self` announces is a loopback IP literal (no wildcard, no other address,
 * no host name): a node that listens on loopback only.
 */
export function announcesOnlyLoopback(self: LocalPeer): boolean {
  return self.addresses.length > 0 && self.addresses.every((x) => isLoopbackHost(x.host))
}

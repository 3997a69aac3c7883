// The querier (RFC 6762 section 5, RFC 6763): browses for the service type with back-off and
// known answers (split into messages of at most 9000 bytes), resolves instances (SRV, TXT,
// addresses), refreshes cached records at 80-95% of their TTL, re-queries at once an instance a
// goodbye removed (a spoofed goodbye is then answered by the real owner), and turns what the
// cache holds into peer:discovered / peer:updated / peer:lost.

import {
  DEFAULT_RECORD_LIMITS,
  type PeerLostReason,
  type PeerRecord,
  type PeerRecordLimits,
  undialableHostProblem,
} from '@peer/discovery-core'
import { backoffDelay } from '@peer/discovery-core/internal'
import type { MdnsContext, SocketState } from './context.js'
import { nameKey } from './instance-name.js'
import { splitQuery } from './query-split.js'
import { addressRank, ttlOf, txtSignature } from './records.js'
import {
  type CachedRecord,
  cachedRecord,
  dueForRefresh,
  type InstanceEntry,
  type ServiceCache,
} from './service-cache.js'
import { decodeTxt, PROTOCOL_VERSION, RESERVED_TXT_KEYS, type TxtLimits } from './txt.js'
import type { DnsPacket, DnsQuestion, DnsRecord } from './wire.js'

/**
 * Most instances asked about per socket and tick while resolving; the rest wait for the next tick.
 * Refresh questions are not capped: they are bounded by the resolved budget of the cache.
 */
export const MAX_RESOLVING_PER_TICK = 64

/** What the querier needs from the backend. */
export interface QuerierHost {
  readonly resolveTimeout: number
  readonly maxQueryInterval: number
  readonly txtLimits: TxtLimits
  readonly recordLimits: Partial<PeerRecordLimits>
  reportPeer(record: unknown): PeerRecord | undefined
  reportLost(id: string, reason: PeerLostReason): void
}

/** Browsing, resolving and the cache's life cycle. */
export class Querier {
  readonly #ctx: MdnsContext
  readonly #host: QuerierHost
  readonly #cache: ServiceCache
  /** id -> instance keys currently reporting it */
  readonly #reportedBy = new Map<string, Set<string>>()
  /** via -> instance names to re-query after a goodbye */
  readonly #requery = new Map<string, Set<string>>()

  constructor(ctx: MdnsContext, host: QuerierHost, cache: ServiceCache) {
    this.#ctx = ctx
    this.#host = host
    this.#cache = cache
  }

  clear(): void {
    this.#reportedBy.clear()
    this.#requery.clear()
  }

  // ---------------------------------------------------------------------------------------------
  // browsing

  scheduleBrowse(s: SocketState, ms: number): void {
    clearTimeout(s.queryTimer)
    s.queryTimer = setTimeout(() => {
      if (!this.#ctx.running()) return
      if (this.#duplicateOfForeignQuery(s)) this.#ctx.stats.queriesSuppressed++
      else void this.sendQuery(s)
      s.queryInterval = Math.min(s.queryInterval * 2, this.#host.maxQueryInterval)
      this.scheduleBrowse(s, s.queryInterval / 2)
    }, ms)
  }

  /** PTR records we list as known answers on `s`: resolved instances with at least half their TTL left. */
  knownAnswers(s: SocketState, now: number): DnsRecord[] {
    const known: DnsRecord[] = []
    for (const entry of this.#cache.instances.values()) {
      const ptr = entry.ptr
      if (!entry.resolved || ptr === undefined || ptr.iface !== s.socket.iface.name || ptr.goodbye) continue
      const remaining = (ptr.expires - now) / 1000
      if (remaining < ptr.ttl / 2) continue
      known.push({ name: this.#ctx.serviceName, type: 'PTR', ttl: Math.floor(remaining), data: entry.name })
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
    const ours = new Set(this.knownAnswers(s, now).map((a) => nameKey(String(a.data))))
    for (const k of foreign.known) if (!ours.has(k)) return false
    return true
  }

  /** Sends a query (the browse PTR question with known answers when `ptr`), split to <= 9000 bytes. */
  async sendQuery(s: SocketState, ptr = true, extra: DnsQuestion[] = []): Promise<void> {
    const known = ptr ? this.knownAnswers(s, Date.now()) : []
    const questions = [...(ptr ? [{ name: this.#ctx.serviceName, type: 'PTR', class: 'IN' }] : []), ...extra]
    for (const packet of splitQuery(questions, known)) await this.#ctx.send(s, packet)
  }

  // ---------------------------------------------------------------------------------------------
  // receiving

  onResponse(s: SocketState, packet: DnsPacket, now: number): void {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
    const iface = s.socket.iface.name
    const via = s.key
    const jitter = Math.random() * 0.02
    const service = nameKey(this.#ctx.serviceName)
    const suffix = `.${service}`
    const touched = new Set<string>()
    const cache = this.#cache
    // pass 1: PTR, SRV, TXT of our service type
    for (const r of records) {
      const name = nameKey(String(r.name ?? ''))
      const ttl = ttlOf(r)
      if (r.type === 'PTR' && name === service) {
        const target = typeof r.data === 'string' ? r.data : ''
        if (!nameKey(target).endsWith(suffix)) {
          this.#ctx.countInvalid('PTR does not point at an instance of the service')
          continue
        }
        const entry = this.#entry(target, now)
        if (entry === undefined) continue
        entry.ptr = cachedRecord(ttl, now, iface, via, jitter)
        if (ttl === 0) this.#goodbyeFor(entry, via)
        touched.add(nameKey(target))
      } else if ((r.type === 'SRV' || r.type === 'TXT') && name.endsWith(suffix)) {
        let srv: { target: string; port: number } | undefined
        if (r.type === 'SRV') {
          const d = r.data as { target?: unknown; port?: unknown } | undefined
          // validated before anything is cached: a bad SRV creates no entry
          if (typeof d?.target !== 'string' || typeof d.port !== 'number' || d.port < 1 || d.port > 65535) {
            this.#ctx.countInvalid('SRV without a target or with port 0')
            continue
          }
          srv = { target: d.target, port: d.port }
        }
        const entry = this.#entry(String(r.name), now)
        if (entry === undefined) continue
        const base = cachedRecord(ttl, now, iface, via, jitter)
        if (srv !== undefined) cache.putSrv(entry, { ...base, ...srv }, r.flush === true, now)
        else {
          const data = Array.isArray(r.data) ? (r.data as Buffer[]) : [Buffer.from(String(r.data ?? ''))]
          cache.putTxt(entry, { ...base, data, signature: txtSignature(data) }, r.flush === true, now)
        }
        if (ttl === 0) this.#goodbyeFor(entry, via)
        touched.add(name)
      }
    }
    // pass 2: addresses of hosts some instance points at
    for (const r of records) {
      if (r.type !== 'A' && r.type !== 'AAAA') continue
      const host = String(r.name ?? '')
      if (!cache.isTarget(host)) continue
      const entry = cache.host(host)
      if (entry === undefined) {
        this.#ctx.stats.cacheOverflows++
        continue
      }
      let address = String(r.data ?? '')
      const family = r.type === 'A' ? 4 : 6
      const undialable = undialableHostProblem(address)
      if (undialable !== undefined) {
        // one such answer must not cost the host its good addresses: drop this one, keep the rest
        this.#ctx.countInvalid(`${r.type} record of ${host}: ${undialable}`)
        continue
      }
      if (family === 6 && /^fe[89ab]/i.test(address)) address = `${address}%${iface}`
      const base = cachedRecord(ttlOf(r), now, iface, via, jitter)
      if (cache.addAddress(entry, address, family, base, r.flush === true) === 'full')
        this.#ctx.stats.cacheOverflows++
      for (const inst of cache.instancesOf(host)) touched.add(nameKey(inst.name))
    }
    this.#ctx.stats.cacheEvictions = cache.evictions
    for (const key of touched) {
      const entry = cache.instances.get(key)
      if (entry !== undefined) this.evaluate(key, entry, now)
    }
  }

  #entry(name: string, now: number): InstanceEntry | undefined {
    const entry = this.#cache.instance(name, now)
    if (entry === undefined) this.#ctx.stats.cacheOverflows++
    return entry
  }

  /** A goodbye for a reported instance: ask for it again at once (the owner answers if it is alive). */
  #goodbyeFor(entry: InstanceEntry, via: string): void {
    if (entry.reportedId === undefined) return
    let names = this.#requery.get(via)
    if (names === undefined) {
      names = new Set()
      this.#requery.set(via, names)
      this.#ctx.later(20 + Math.random() * 100, () => {
        const list = this.#requery.get(via)
        this.#requery.delete(via)
        const s = this.#ctx.socket(via)
        if (list === undefined || s === undefined) return
        const questions = [...list].flatMap((name) => [
          { name, type: 'SRV', class: 'IN' },
          { name, type: 'TXT', class: 'IN' },
        ])
        void this.sendQuery(s, false, questions)
      })
    }
    if (names.size < 64) names.add(entry.name)
  }

  // ---------------------------------------------------------------------------------------------
  // reporting

  /** Reports, updates or loses the peer of an instance from what the cache holds now. */
  evaluate(key: string, entry: InstanceEntry, now: number, lostReason?: PeerLostReason): void {
    const { ptr, srv, txt } = entry
    const alive = (r: CachedRecord | undefined) => r !== undefined && r.expires > now
    if (!alive(ptr) || !alive(srv) || !alive(txt)) {
      if (entry.reportedId !== undefined) {
        const goodbye = [ptr, srv, txt].some((r) => r?.goodbye)
        this.#unreport(key, entry, lostReason ?? (goodbye ? 'withdrawn' : 'expired'))
        // a lost node's long-lived PTR/TXT are forgotten too: it is not "unresolvable"
        this.#cache.delete(key)
      } else if (this.#cache.isEmpty(entry)) this.#cache.delete(key)
      return
    }
    const host = this.#cache.hosts.get(nameKey(srv!.target))
    const addresses = host
      ? [...host.addresses.values()]
          .filter((x) => x.expires > now)
          .sort((x, y) => addressRank(x.address) - addressRank(y.address))
          .map((x) => x.address)
      : []
    if (addresses.length === 0) {
      if (entry.reportedId !== undefined) {
        this.#unreport(key, entry, lostReason ?? 'unreachable')
        this.#cache.demote(entry, now)
      }
      return
    }
    if (entry.invalidSignature === txt!.signature) return
    if (!entry.resolved && this.#cache.counts.resolved >= this.#cache.limits.maxInstances) {
      // the resolved budget is full: it stays pending and expires at its deadline
      this.#ctx.stats.cacheOverflows++
      return
    }
    const record = this.#record(entry, addresses)
    if (record === undefined) return
    if (entry.reportedId !== undefined && entry.reportedId !== record.id)
      this.#unreport(key, entry, 'removed')
    const accepted = this.#host.reportPeer(record)
    if (accepted === undefined) {
      // invalid (counted by reportPeer), ourselves, or the peer map is full: do not retry this TXT
      entry.invalidSignature = txt!.signature
      return
    }
    this.#cache.promote(entry)
    entry.reportedId = accepted.id
    let keys = this.#reportedBy.get(accepted.id)
    if (keys === undefined) {
      keys = new Set()
      this.#reportedBy.set(accepted.id, keys)
    }
    keys.add(key)
  }

  /** The peer record an instance describes, or undefined (counted) when its TXT is unusable. */
  #record(entry: InstanceEntry, addresses: string[]) {
    const { srv, txt } = entry as Required<Pick<InstanceEntry, 'srv' | 'txt'>>
    const decoded = decodeTxt(txt.data, this.#host.txtLimits)
    const id = decoded.entries.get('id')
    const pv = decoded.entries.get('pv')
    if (pv !== undefined && pv.split('.')[0] !== PROTOCOL_VERSION) {
      entry.invalidSignature = txt.signature
      this.#ctx.countInvalid(`unsupported protocol version ${pv}`)
      return undefined
    }
    const maxMeta = this.#host.recordLimits.maxMetaEntries ?? DEFAULT_RECORD_LIMITS.maxMetaEntries
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
    if (decoded.problems.length > 0 && entry.countedSignature !== txt.signature) {
      entry.countedSignature = txt.signature
      for (const problem of decoded.problems) {
        this.#ctx.stats.badTxt++
        this.#ctx.countInvalid(problem)
      }
    }
    // a `services=` list is checked (bad names dropped and counted) by the base class's reportPeer
    return {
      id,
      name: decoded.entries.get('name'),
      addresses: addresses.map((host) => ({ host, port: srv.port })),
      meta: metaCount > 0 ? meta : undefined,
      ttl: srv.ttl,
    }
  }

  #unreport(key: string, entry: InstanceEntry, reason: PeerLostReason): void {
    const id = entry.reportedId
    if (id === undefined) return
    entry.reportedId = undefined
    const keys = this.#reportedBy.get(id)
    keys?.delete(key)
    if (keys === undefined || keys.size === 0) {
      this.#reportedBy.delete(id)
      this.#host.reportLost(id, reason)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the clock

  /** Expiry, resolve deadlines, refresh queries and resolve queries. */
  tick(now: number): void {
    const cache = this.#cache
    // per socket: extra questions, and whether a PTR query (with known answers) is due
    const questions = new Map<string, Map<string, DnsQuestion>>()
    const browse = new Set<string>()
    const ask = (via: string, name: string, type: string) => {
      let q = questions.get(via)
      if (q === undefined) {
        q = new Map()
        questions.set(via, q)
      }
      q.set(`${nameKey(name)}|${type}`, { name, type, class: 'IN' })
    }
    const resolving = new Map<string, number>()
    for (const [key, entry] of cache.instances) {
      const before = [entry.ptr, entry.srv, entry.txt]
      const goodbye = cache.expire(entry, now)
      if (before.some((r, i) => r !== [entry.ptr, entry.srv, entry.txt][i])) {
        this.evaluate(key, entry, now, goodbye ? 'withdrawn' : 'expired')
        if (!cache.instances.has(key)) continue
      }
      if (entry.reportedId === undefined) {
        if (cache.isEmpty(entry)) {
          cache.delete(key)
          continue
        }
        // an instance whose TXT was found invalid (or is our own) stays until its records expire,
        // so that it is not counted again; it is pending, so newer entries may evict it
        if (entry.invalidSignature !== undefined) continue
        // pending: resolved by its deadline or forgotten, whatever records it has
        if (now - entry.firstSeen > this.#host.resolveTimeout) {
          cache.delete(key)
          this.#ctx.stats.unresolvable++
          this.#ctx.countInvalid(`instance ${entry.name} could not be resolved`)
          continue
        }
        if (entry.ptr === undefined) continue
        const via = entry.ptr.via
        if (now >= entry.nextResolve && (resolving.get(via) ?? 0) < MAX_RESOLVING_PER_TICK) {
          // only instances a PTR announced are asked about (never SRV-only or TXT-only junk)
          resolving.set(via, (resolving.get(via) ?? 0) + 1)
          entry.resolveAttempts++
          entry.nextResolve = now + backoffDelay(entry.resolveAttempts - 1, { initialMs: 1000, maxMs: 8000 })
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
        const foreign = this.#ctx.socket(entry.ptr.via)?.foreignPtrQuery
        if (!(foreign && now - foreign.at < 1000 && !foreign.known.has(key))) browse.add(entry.ptr.via)
      }
      if (entry.srv && dueForRefresh(entry.srv, now, 1)) ask(entry.srv.via, entry.name, 'SRV')
      if (entry.txt && dueForRefresh(entry.txt, now, 1)) ask(entry.txt.via, entry.name, 'TXT')
    }
    for (const host of cache.hosts.values()) {
      let changed = false
      for (const [addr, rec] of host.addresses) {
        if (rec.expires <= now) {
          host.addresses.delete(addr)
          changed = true
        } else if (dueForRefresh(rec, now, 1)) ask(rec.via, host.name, rec.family === 4 ? 'A' : 'AAAA')
      }
      if (changed) for (const e of cache.instancesOf(host.name)) this.evaluate(nameKey(e.name), e, now)
    }
    cache.pruneHosts()
    for (const via of new Set([...questions.keys(), ...browse])) {
      const s = this.#ctx.socket(via)
      if (s === undefined) continue
      void this.sendQuery(s, browse.has(via), [...(questions.get(via)?.values() ?? [])])
    }
  }

  /** An interface went away: records learned on it are flushed (RFC 6762 section 10.3 spirit). */
  flushInterface(name: string): void {
    const now = Date.now()
    const cache = this.#cache
    for (const [key, entry] of cache.instances) {
      if (entry.ptr?.iface === name) entry.ptr = undefined
      for (const set of [entry.srvSet, entry.txtSet] as Array<Map<string, CachedRecord>>)
        for (const [k, r] of set) if (r.iface === name) set.delete(k)
      cache.reselect(entry, now)
      this.evaluate(key, entry, now, 'unreachable')
    }
    for (const host of cache.hosts.values()) {
      for (const [addr, rec] of host.addresses) if (rec.iface === name) host.addresses.delete(addr)
      for (const entry of cache.instancesOf(host.name))
        this.evaluate(nameKey(entry.name), entry, now, 'unreachable')
    }
  }
}

// The querier's cache of DNS-SD records (RFC 6762 section 10): PTR, SRV and TXT per service
// instance, A/AAAA per host, each with its own expiry, the interface it was learned on and the
// refresh stage (queries at 80/85/90/95% of the TTL).
//
// Bounded, and partitioned so that junk cannot deny discovery: instances that completed the
// PTR -> SRV -> address chain and were reported ("resolved") have their own budget; everything
// else ("pending": SRV-only, TXT-only, PTR without answers) lives in a second budget whose oldest
// entry makes room for a new one, and expires at its resolve deadline whatever records it has.
// SRV and TXT are record sets with RFC 6762 section 10.2 cache-flush semantics.
import { nameKey } from './instance-name.js'

/** A cached resource record's bookkeeping. */
export interface CachedRecord {
  /** TTL as received, seconds. */
  ttl: number
  /** When it was (last) received, ms. */
  received: number
  /** When this data was first received (kept across refreshes), ms. */
  firstReceived?: number | undefined
  /** When it expires, ms. */
  expires: number
  /** Interface it was learned on. */
  iface: string
  /** Socket (`<interface>/<family>`) it was learned on: refresh queries go out there. */
  via: string
  /** True when it expires because of a goodbye (TTL 0) or a cache flush. */
  goodbye: boolean
  /** Refresh queries sent so far for this reception (0-4). */
  refreshStage: number
  /** Random 0-2% added to each refresh threshold. */
  jitter: number
}

/** A cached SRV record. */
export type CachedSrv = CachedRecord & { target: string; port: number }
/** A cached TXT record. */
export type CachedTxt = CachedRecord & { data: Buffer[]; signature: string }

/** A service instance being resolved or resolved. */
export interface InstanceEntry {
  /** The instance name as received (escaped), e.g. `app@host._peer._udp.local`. */
  readonly name: string
  ptr?: CachedRecord | undefined
  /** The SRV in use: the earliest-received one of the set that is not flushed or expiring. */
  srv?: CachedSrv | undefined
  /** The TXT in use (chosen like `srv`). */
  txt?: CachedTxt | undefined
  /** Every SRV received for the name (bounded), by target and port. */
  readonly srvSet: Map<string, CachedSrv>
  /** Every TXT received for the name (bounded), by signature. */
  readonly txtSet: Map<string, CachedTxt>
  /** When the instance was first seen (for the resolve timeout). */
  firstSeen: number
  /** Resolve queries sent since it was first seen. */
  resolveAttempts: number
  /** When the next resolve query may go out. */
  nextResolve: number
  /** True once it completed PTR -> SRV -> address and was reported: it counts in the resolved budget. */
  resolved: boolean
  /** The node id reported for it, if any. */
  reportedId?: string | undefined
  /** TXT signature whose problems were already counted. */
  countedSignature?: string | undefined
  /** TXT signature that was already found invalid, or that is our own (not retried). */
  invalidSignature?: string | undefined
}

/** One address of a host. */
export interface CachedAddress extends CachedRecord {
  readonly address: string
  readonly family: 4 | 6
}

/** A host's addresses. */
export interface HostEntry {
  readonly name: string
  readonly addresses: Map<string, CachedAddress>
}

/** Limits of the {@link ServiceCache}. */
export interface CacheLimits {
  /** Most resolved instances. */
  maxInstances: number
  /** Most pending (half-resolved) instances. Default `maxInstances`. */
  maxPending?: number | undefined
  maxHosts: number
  maxAddressesPerHost: number
  /** Most SRV or TXT records kept per instance name. Default 4. */
  maxRecordsPerSet?: number | undefined
}

/** What a cache insertion did. */
export type CacheResult = 'added' | 'refreshed' | 'full'

/** Bounded, partitioned record cache of the browser. */
export class ServiceCache {
  readonly instances = new Map<string, InstanceEntry>()
  readonly hosts = new Map<string, HostEntry>()
  readonly limits: Required<CacheLimits>
  /** Keys of pending instances, oldest first. */
  readonly #pending = new Set<string>()
  #resolvedCount = 0
  /** host key -> keys of instances whose SRV in use points at it */
  readonly #targets = new Map<string, Set<string>>()
  /** Pending instances evicted to make room for newer ones. */
  evictions = 0

  constructor(limits: CacheLimits) {
    this.limits = {
      maxPending: limits.maxInstances,
      maxRecordsPerSet: 4,
      ...limits,
    } as Required<CacheLimits>
    if (limits.maxPending === undefined) this.limits.maxPending = limits.maxInstances
    if (limits.maxRecordsPerSet === undefined) this.limits.maxRecordsPerSet = 4
  }

  /** Numbers of resolved and pending instances. */
  get counts(): { resolved: number; pending: number } {
    return { resolved: this.#resolvedCount, pending: this.#pending.size }
  }

  /**
   * The entry of an instance; a new one starts pending, and when the pending budget is full the
   * oldest pending entry is evicted for it (resolved entries are never evicted).
   */
  instance(name: string, now: number): InstanceEntry | undefined {
    const key = nameKey(name)
    let entry = this.instances.get(key)
    if (entry === undefined) {
      if (this.limits.maxPending <= 0) return undefined
      if (this.#pending.size >= this.limits.maxPending) {
        const oldest = this.#pending.values().next().value
        if (oldest !== undefined) {
          this.delete(oldest)
          this.evictions++
        }
      }
      entry = {
        name,
        srvSet: new Map(),
        txtSet: new Map(),
        firstSeen: now,
        resolveAttempts: 0,
        nextResolve: now,
        resolved: false,
      }
      this.instances.set(key, entry)
      this.#pending.add(key)
    }
    return entry
  }

  /** Moves an entry into the resolved budget; false when that budget is full. */
  promote(entry: InstanceEntry): boolean {
    if (entry.resolved) return true
    if (this.#resolvedCount >= this.limits.maxInstances) return false
    const key = nameKey(entry.name)
    this.#pending.delete(key)
    entry.resolved = true
    this.#resolvedCount++
    return true
  }

  /** Moves a resolved entry back to pending (it must resolve again by a new deadline). */
  demote(entry: InstanceEntry, now: number): void {
    if (!entry.resolved) return
    entry.resolved = false
    this.#resolvedCount--
    entry.firstSeen = now
    entry.resolveAttempts = 0
    entry.nextResolve = now
    this.#pending.add(nameKey(entry.name))
  }

  /** Forgets an instance. */
  delete(key: string): void {
    const entry = this.instances.get(key)
    if (entry === undefined) return
    this.instances.delete(key)
    if (entry.resolved) this.#resolvedCount--
    else this.#pending.delete(key)
    this.#index(key, entry.srv, undefined)
  }

  /** Adds an SRV to the instance's set with cache-flush semantics; returns the SRV in use. */
  putSrv(entry: InstanceEntry, record: CachedSrv, flush: boolean, now: number): void {
    this.#put(entry.srvSet, `${nameKey(record.target)}:${record.port}`, record, flush, now)
    this.reselect(entry, now)
  }

  /** Adds a TXT to the instance's set with cache-flush semantics. */
  putTxt(entry: InstanceEntry, record: CachedTxt, flush: boolean, now: number): void {
    this.#put(entry.txtSet, record.signature, record, flush, now)
    this.reselect(entry, now)
  }

  #put<T extends CachedRecord>(set: Map<string, T>, key: string, record: T, flush: boolean, now: number) {
    const known = set.get(key)
    record.firstReceived = known && !known.goodbye ? (known.firstReceived ?? known.received) : now
    if (flush && !record.goodbye) {
      // RFC 6762 section 10.2: the others of the set received over a second ago expire in one
      for (const [k, r] of set) {
        if (k !== key && now - r.received > 1000 && !(r.goodbye && r.expires <= now + 1000)) {
          r.expires = Math.min(r.expires, now + 1000)
          r.goodbye = true
        }
      }
    }
    set.delete(key)
    set.set(key, record)
    while (set.size > this.limits.maxRecordsPerSet) set.delete(set.keys().next().value!)
  }

  /** Drops expired records of an entry; true when one of them had been a goodbye. */
  expire(entry: InstanceEntry, now: number): boolean {
    let goodbye = false
    if (entry.ptr !== undefined && entry.ptr.expires <= now) {
      goodbye ||= entry.ptr.goodbye
      entry.ptr = undefined
    }
    for (const set of [entry.srvSet, entry.txtSet] as Array<Map<string, CachedRecord>>) {
      for (const [k, r] of set) {
        if (r.expires > now) continue
        // the record in use expiring through a goodbye or a flush is a goodbye
        if (r === entry.srv || r === entry.txt) goodbye ||= r.goodbye
        set.delete(k)
      }
    }
    this.reselect(entry, now)
    return goodbye
  }

  /** True when an entry holds no record at all. */
  isEmpty(entry: InstanceEntry): boolean {
    return entry.ptr === undefined && entry.srvSet.size === 0 && entry.txtSet.size === 0
  }

  /**
   * Picks the SRV and TXT in use: a live record that is not flushed, the earliest-received first
   * (a later record without the cache-flush bit cannot displace a known one); a goodbye or a
   * flushed record only when nothing else is left (it reports the loss when it expires).
   */
  reselect(entry: InstanceEntry, now: number): void {
    const pick = <T extends CachedRecord>(set: Map<string, T>): T | undefined => {
      let best: T | undefined
      for (const r of set.values()) {
        if (r.expires <= now) continue
        if (best === undefined) {
          best = r
          continue
        }
        if (best.goodbye !== r.goodbye) {
          if (best.goodbye) best = r
          continue
        }
        if ((r.firstReceived ?? r.received) < (best.firstReceived ?? best.received)) best = r
      }
      return best
    }
    const key = nameKey(entry.name)
    const srv = pick(entry.srvSet)
    this.#index(key, entry.srv, srv)
    entry.srv = srv
    entry.txt = pick(entry.txtSet)
  }

  #index(key: string, before: CachedSrv | undefined, after: CachedSrv | undefined): void {
    if (before !== undefined && (after === undefined || nameKey(before.target) !== nameKey(after.target))) {
      const host = nameKey(before.target)
      const keys = this.#targets.get(host)
      keys?.delete(key)
      if (keys?.size === 0) this.#targets.delete(host)
    }
    if (after !== undefined) {
      const host = nameKey(after.target)
      let keys = this.#targets.get(host)
      if (keys === undefined) {
        keys = new Set()
        this.#targets.set(host, keys)
      }
      keys.add(key)
    }
  }

  /** The entry of a host, created when there is room (a host no resolved instance uses makes room). */
  host(name: string): HostEntry | undefined {
    const key = nameKey(name)
    let entry = this.hosts.get(key)
    if (entry === undefined) {
      if (this.hosts.size >= this.limits.maxHosts) {
        let victim: string | undefined
        for (const k of this.hosts.keys()) {
          if (!this.#usedByResolved(k)) {
            victim = k
            break
          }
        }
        if (victim === undefined) return undefined
        this.hosts.delete(victim)
      }
      entry = { name, addresses: new Map() }
      this.hosts.set(key, entry)
    }
    return entry
  }

  #usedByResolved(hostKey: string): boolean {
    for (const k of this.#targets.get(hostKey) ?? []) if (this.instances.get(k)?.resolved) return true
    return false
  }

  /**
   * Adds or refreshes an address of `host`; `full` when the host already has the maximum. With the
   * cache-flush bit, the host's other addresses of that family on that link, received over a
   * second ago, expire in one (RFC 6762 section 10.2).
   */
  addAddress(
    host: HostEntry,
    address: string,
    family: 4 | 6,
    base: CachedRecord,
    flush = false,
  ): CacheResult {
    if (flush && !base.goodbye) {
      for (const [addr, rec] of host.addresses) {
        if (
          rec.family === family &&
          rec.iface === base.iface &&
          addr !== address &&
          base.received - rec.received > 1000 &&
          !rec.goodbye
        ) {
          rec.expires = base.received + 1000
          rec.goodbye = true
        }
      }
    }
    const known = host.addresses.get(address)
    if (known === undefined && host.addresses.size >= this.limits.maxAddressesPerHost) return 'full'
    host.addresses.set(address, { ...base, address, family })
    return known ? 'refreshed' : 'added'
  }

  /** True when some instance's SRV points at `host`. */
  isTarget(host: string): boolean {
    return (this.#targets.get(nameKey(host))?.size ?? 0) > 0
  }

  /** Instances whose SRV points at `host`. */
  instancesOf(host: string): InstanceEntry[] {
    const out: InstanceEntry[] = []
    for (const k of this.#targets.get(nameKey(host)) ?? []) {
      const e = this.instances.get(k)
      if (e !== undefined) out.push(e)
    }
    return out
  }

  /** Deletes hosts no instance points at any more. */
  pruneHosts(): void {
    for (const key of this.hosts.keys()) if (!this.#targets.has(key)) this.hosts.delete(key)
  }

  clear(): void {
    this.instances.clear()
    this.hosts.clear()
    this.#pending.clear()
    this.#targets.clear()
    this.#resolvedCount = 0
  }
}

/**
 * A fresh {@link CachedRecord} for a record with `ttl` seconds received now on `iface`. Records of
 * one packet share `jitter`, so their refreshes fall due together and go out as one query.
 */
export function cachedRecord(
  ttl: number,
  now: number,
  iface: string,
  via = iface,
  jitter = Math.random() * 0.02,
): CachedRecord {
  const goodbye = ttl === 0
  return {
    ttl,
    received: now,
    // RFC 6762 section 10.1: a goodbye is kept for one more second
    expires: now + (goodbye ? 1000 : ttl * 1000),
    iface,
    via,
    goodbye,
    refreshStage: 0,
    jitter,
  }
}

/** Refresh thresholds (fractions of the TTL) of RFC 6762 section 5.2. */
export const REFRESH_AT: readonly number[] = [0.8, 0.85, 0.9, 0.95]

/**
 * True when `record` is due for its next refresh query (and advances its stage). Stages before
 * `fromStage` are skipped: records that the 80% PTR query normally refreshes as a side effect
 * (SRV, TXT, addresses arrive as additional records) are asked for only from 85% on.
 */
export function dueForRefresh(record: CachedRecord, now: number, fromStage = 0): boolean {
  if (record.goodbye || record.refreshStage >= REFRESH_AT.length) return false
  if (record.refreshStage < fromStage) record.refreshStage = fromStage
  const fraction = (now - record.received) / (record.ttl * 1000)
  if (fraction < REFRESH_AT[record.refreshStage]! + record.jitter) return false
  while (
    record.refreshStage < REFRESH_AT.length &&
    fraction >= REFRESH_AT[record.refreshStage]! + record.jitter
  ) {
    record.refreshStage++
  }
  return true
}

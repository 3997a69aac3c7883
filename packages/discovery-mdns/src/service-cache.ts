// The querier's cache of DNS-SD records (RFC 6762 section 10): PTR, SRV and TXT per service
// instance, A/AAAA per host, each with its own expiry, the interface it was learned on and the
// refresh stage (queries at 80/85/90/95% of the TTL). Bounded: instances, hosts and addresses.
import { nameKey } from './instance-name.js'

/** A cached resource record's bookkeeping. */
export interface CachedRecord {
  /** TTL as received, seconds. */
  ttl: number
  /** When it was (last) received, ms. */
  received: number
  /** When it expires, ms. */
  expires: number
  /** Interface it was learned on. */
  iface: string
  /** Socket (`<interface>/<family>`) it was learned on: refresh queries go out there. */
  via: string
  /** True when it expires because of a goodbye (TTL 0). */
  goodbye: boolean
  /** Refresh queries sent so far for this reception (0-4). */
  refreshStage: number
  /** Random 0-2% added to each refresh threshold. */
  jitter: number
}

/** A service instance being resolved or resolved. */
export interface InstanceEntry {
  /** The instance name as received (escaped), e.g. `app@host._peer._udp.local`. */
  readonly name: string
  ptr?: CachedRecord | undefined
  srv?: (CachedRecord & { target: string; port: number }) | undefined
  txt?: (CachedRecord & { data: Buffer[]; signature: string }) | undefined
  /** When the instance was first seen (for the resolve timeout). */
  firstSeen: number
  /** Resolve queries sent since it was first seen. */
  resolveAttempts: number
  /** When the next resolve query may go out. */
  nextResolve: number
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
  maxInstances: number
  maxHosts: number
  maxAddressesPerHost: number
}

/** What a cache insertion did. */
export type CacheResult = 'added' | 'refreshed' | 'full'

/** Bounded record cache of the browser. */
export class ServiceCache {
  readonly instances = new Map<string, InstanceEntry>()
  readonly hosts = new Map<string, HostEntry>()
  readonly limits: CacheLimits

  constructor(limits: CacheLimits) {
    this.limits = limits
  }

  /** The entry of an instance, created when there is room; `undefined` when the cache is full. */
  instance(name: string, now: number): InstanceEntry | undefined {
    const key = nameKey(name)
    let entry = this.instances.get(key)
    if (entry === undefined) {
      if (this.instances.size >= this.limits.maxInstances) return undefined
      entry = { name, firstSeen: now, resolveAttempts: 0, nextResolve: now }
      this.instances.set(key, entry)
    }
    return entry
  }

  /** The entry of a host, created when there is room. */
  host(name: string): HostEntry | undefined {
    const key = nameKey(name)
    let entry = this.hosts.get(key)
    if (entry === undefined) {
      if (this.hosts.size >= this.limits.maxHosts) return undefined
      entry = { name, addresses: new Map() }
      this.hosts.set(key, entry)
    }
    return entry
  }

  /** Adds or refreshes an address of `host`; `full` when the host already has the maximum. */
  addAddress(host: HostEntry, address: string, family: 4 | 6, base: CachedRecord): CacheResult {
    const known = host.addresses.get(address)
    if (known === undefined && host.addresses.size >= this.limits.maxAddressesPerHost) return 'full'
    host.addresses.set(address, { ...base, address, family })
    return known ? 'refreshed' : 'added'
  }

  /** True when some instance's SRV points at `host`. */
  isTarget(host: string): boolean {
    const key = nameKey(host)
    for (const entry of this.instances.values())
      if (entry.srv && nameKey(entry.srv.target) === key) return true
    return false
  }

  /** Instances whose SRV points at `host`. */
  instancesOf(host: string): InstanceEntry[] {
    const key = nameKey(host)
    return [...this.instances.values()].filter((e) => e.srv && nameKey(e.srv.target) === key)
  }

  /** Deletes hosts no instance points at any more. */
  pruneHosts(): void {
    const wanted = new Set<string>()
    for (const e of this.instances.values()) if (e.srv) wanted.add(nameKey(e.srv.target))
    for (const key of this.hosts.keys()) if (!wanted.has(key)) this.hosts.delete(key)
  }

  clear(): void {
    this.instances.clear()
    this.hosts.clear()
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

import type { AbortOptions } from '@peer/discovery-core'
import { BoundedMap } from '@peer/discovery-core/internal'
import type { DnsClient } from './dns-client.js'
import type { DnsRecord, DnsResponse, QueryType } from './dns-message.js'
import { MalformedDnsMessageError } from './errors.js'

/** A resolved RRset (CNAMEs followed) or a negative answer, with its clamped lifetime. */
export type Resolved =
  | {
      readonly kind: 'positive'
      /** The records of the asked type, owned by the end of the CNAME chain. */
      readonly records: readonly DnsRecord[]
      /** Owner of the records (differs from the asked name after a CNAME chain). */
      readonly canonicalName: string
      /** TTL used for caching, in seconds (after clamping). */
      readonly ttl: number
      /** Epoch ms at which the answer expires from the cache. */
      readonly expiresAt: number
    }
  | {
      readonly kind: 'negative'
      /** NXDOMAIN: the name does not exist; NODATA: it exists without records of that type. */
      readonly reason: 'NXDOMAIN' | 'NODATA'
      readonly ttl: number
      readonly expiresAt: number
    }

/** TTL clamps (seconds). */
export interface TtlPolicy {
  /** Shortest time an answer is cached; a 0 TTL is raised to this. */
  minTtl: number
  /** Longest time a positive answer is cached, however long its TTL. */
  maxTtl: number
  /** Negative caching time when the answer carries no SOA (RFC 2308). */
  negativeTtl: number
  /** Longest time a negative answer is cached. */
  maxNegativeTtl: number
}

/** Longest CNAME chain followed. */
export const MAX_CNAME_CHAIN = 8

/**
 * Answers questions through a {@link DnsClient} with a bounded cache: positive answers live for
 * their RRset's smallest TTL (CNAMEs included), negative answers (NXDOMAIN, NODATA) for
 * min(SOA TTL, SOA MINIMUM) as RFC 2308 says or `negativeTtl` without a SOA, each clamped by the
 * {@link TtlPolicy}. At most `maxEntries` answers are kept (least recently stored evicted first).
 * Concurrent questions for the same name and type share one query.
 */
export class CachingResolver {
  readonly #client: DnsClient
  readonly #policy: TtlPolicy
  readonly #now: () => number
  readonly #cache: BoundedMap<string, Resolved>
  readonly #inFlight = new Map<string, Promise<Resolved>>()
  #hits = 0
  #misses = 0
  #primed = 0

  constructor(
    client: DnsClient,
    policy: TtlPolicy,
    options: { maxEntries?: number; now?: () => number } = {},
  ) {
    this.#client = client
    this.#policy = policy
    this.#cache = new BoundedMap(options.maxEntries ?? 10_000)
    this.#now = options.now ?? Date.now
  }

  /** Entries currently cached. */
  get size(): number {
    return this.#cache.size
  }

  /** Cache hits, misses, and RRsets cached from additional sections, so far. */
  get counters(): { hits: number; misses: number; primed: number } {
    return { hits: this.#hits, misses: this.#misses, primed: this.#primed }
  }

  /** Drops every cached answer. */
  clear(): void {
    this.#cache.clear()
  }

  /** Drops expired answers. */
  sweep(): void {
    const now = this.#now()
    for (const [key, value] of this.#cache) if (value.expiresAt <= now) this.#cache.delete(key)
  }

  /**
   * Resolves `name`/`type`. A cached answer is used while it stays valid beyond `freshUntil`
   * (epoch ms, default now). Rejects with the client's error when no server answered definitely,
   * or with a {@link MalformedDnsMessageError} for a CNAME loop or an over-long chain.
   */
  async resolve(
    name: string,
    type: QueryType,
    options: AbortOptions & { freshUntil?: number } = {},
  ): Promise<Resolved> {
    const key = `${type} ${name.toLowerCase()}`
    const cached = this.#cache.get(key)
    const freshUntil = options.freshUntil ?? this.#now()
    if (cached !== undefined && cached.expiresAt > freshUntil) {
      this.#hits++
      return cached
    }
    const pending = this.#inFlight.get(key)
    if (pending !== undefined) return pending
    this.#misses++
    const run = this.#fetch(name.toLowerCase(), type, options.signal).then((resolved) => {
      this.#cache.set(key, resolved)
      return resolved
    })
    this.#inFlight.set(key, run)
    try {
      return await run
    } finally {
      this.#inFlight.delete(key)
    }
  }

  async #fetch(qname: string, type: QueryType, signal: AbortSignal | undefined): Promise<Resolved> {
    const seen = new Set<string>([qname])
    let chainTtl = Number.POSITIVE_INFINITY
    let current = qname
    for (let queries = 0; queries <= MAX_CNAME_CHAIN; queries++) {
      const response = await this.#client.query(current, type, { signal })
      let owner = current
      for (;;) {
        const rrset = response.answers.filter((r) => r.name === owner && r.type === type)
        if (rrset.length > 0) {
          const ttl = Math.min(chainTtl, ...rrset.map((r) => r.ttl))
          if (type === 'SRV') this.#primeTargets(rrset, response.additionals)
          return this.#positive(rrset, owner, ttl)
        }
        const cname = response.answers.find((r) => r.name === owner && r.type === 'CNAME')
        if (cname === undefined || cname.type !== 'CNAME') break
        chainTtl = Math.min(chainTtl, cname.ttl)
        owner = cname.target
        if (seen.has(owner))
          throw new MalformedDnsMessageError(`CNAME loop at ${owner} while resolving ${qname}`)
        seen.add(owner)
        if (seen.size > MAX_CNAME_CHAIN + 1) {
          throw new MalformedDnsMessageError(`CNAME chain longer than ${MAX_CNAME_CHAIN} at ${qname}`)
        }
      }
      if (owner !== current && response.rcode === 0) {
        // the server gave the chain but not its end: ask for the end ourselves
        current = owner
        continue
      }
      return this.#negative(response, chainTtl)
    }
    throw new MalformedDnsMessageError(`CNAME chain longer than ${MAX_CNAME_CHAIN} at ${qname}`)
  }

  /**
   * Servers (Consul, CoreDNS, dnsmasq) put the A/AAAA records of SRV targets in the additional
   * section. Those RRsets are cached as if asked for, which saves two queries per target and
   * TTL. Only A/AAAA records owned by a target of this SRV answer are used; anything else in the
   * additional section is ignored.
   */
  #primeTargets(srv: readonly DnsRecord[], additionals: readonly DnsRecord[]): void {
    if (additionals.length === 0) return
    const targets = new Set<string>()
    for (const r of srv) if (r.type === 'SRV') targets.add(r.target)
    const rrsets = new Map<string, DnsRecord[]>()
    for (const r of additionals) {
      if ((r.type !== 'A' && r.type !== 'AAAA') || !targets.has(r.name)) continue
      const key = `${r.type} ${r.name}`
      const list = rrsets.get(key)
      if (list) list.push(r)
      else rrsets.set(key, [r])
    }
    for (const [key, rrset] of rrsets) {
      if (this.#cache.size >= this.#cache.max && !this.#cache.has(key)) break
      this.#primed++
      this.#cache.set(key, this.#positive(rrset, rrset[0]!.name, Math.min(...rrset.map((r) => r.ttl))))
    }
  }

  #positive(records: readonly DnsRecord[], canonicalName: string, rawTtl: number): Resolved {
    const ttl = clamp(rawTtl, this.#policy.minTtl, this.#policy.maxTtl)
    return Object.freeze({
      kind: 'positive',
      records: Object.freeze([...records]),
      canonicalName,
      ttl,
      expiresAt: this.#now() + ttl * 1000,
    })
  }

  #negative(response: DnsResponse, chainTtl: number): Resolved {
    const soa = response.authorities.find((r) => r.type === 'SOA')
    const soaTtl =
      soa !== undefined && soa.type === 'SOA' ? Math.min(soa.ttl, soa.minimum) : this.#policy.negativeTtl
    const ttl = clamp(Math.min(soaTtl, chainTtl), this.#policy.minTtl, this.#policy.maxNegativeTtl)
    return Object.freeze({
      kind: 'negative',
      reason: response.rcode === 3 ? 'NXDOMAIN' : 'NODATA',
      ttl,
      expiresAt: this.#now() + ttl * 1000,
    })
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max)
}

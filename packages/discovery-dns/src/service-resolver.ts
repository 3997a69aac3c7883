import { isIP } from 'node:net'
import { hostProblem, type PeerAddress, undialableHostProblem } from '@peer/discovery-core'
import { quote, toError } from '@peer/discovery-core/internal'
import type { CachingResolver, Resolved } from './dns-cache.js'
import type { DnsRecord } from './dns-message.js'
import { hash32, orderSrvRecords, seededRandom } from './srv-order.js'
import { type IdSource, identify, type TxtLimits } from './txt-attributes.js'

/** A peer found in DNS, before validation into a `PeerRecord`. */
export interface Candidate {
  /** The node id, from TXT `id=` or the first label of a target, as `idSource` says. */
  readonly id: string
  /** The node name from TXT `name=` (not checked yet); `undefined` when there is none or TXT is not read. */
  readonly name?: string | undefined
  /** The other TXT `key=value` attributes within `txtLimits`; `undefined` when there are none. */
  readonly meta?: Readonly<Record<string, string>> | undefined
  /**
   * The A/AAAA addresses of the peer's targets, each with the port of every SRV record naming that
   * target (the given port for `resolveHost`), in RFC 2782 order, without duplicates, at most
   * `maxAddresses`.
   */
  readonly addresses: readonly PeerAddress[]
  /** SRV targets (or the host) the peer was read from. */
  readonly targets: readonly string[]
}

/** A record that was dropped, with a key stable across polls (to count it once). */
export interface Rejected {
  /** What was dropped, the same from one poll to the next (e.g. `srv <target>:<port>`, `target <name>`). */
  readonly key: string
  /**
   * Why it was dropped, in words. `DnsDiscovery` counts it in `stats.invalidRecords` unless its `key`
   * was rejected in the previous poll too.
   */
  readonly reason: string
}

/** The outcome of resolving a service (or a host). */
export type ServiceAnswer =
  | {
      readonly kind: 'absent'
      /** NXDOMAIN, NODATA, or an SRV RRset holding only the "." target (service decidedly absent). */
      readonly reason: 'NXDOMAIN' | 'NODATA' | 'NOSERVICE'
      readonly expiresAt: number
    }
  | {
      readonly kind: 'present'
      /** Peers in RFC 2782 order. */
      readonly candidates: readonly Candidate[]
      readonly rejected: readonly Rejected[]
      /** Targets whose records could not be fetched this time (transient failures). */
      readonly unresolved: ReadonlyMap<string, Error>
      /** Earliest expiry (epoch ms) of the answers used. */
      readonly expiresAt: number
    }

/** Options of {@link ServiceResolver}. */
export interface ServiceResolverOptions {
  /** Where node ids come from (TXT `id=`, the target's first label, or either). */
  idSource: IdSource
  /** Address families asked for every target (4: A, 6: AAAA). */
  families: readonly (4 | 6)[]
  /** Limits for TXT attributes kept as `meta`. */
  txtLimits: TxtLimits
  /** Most addresses kept per peer. */
  maxAddresses: number
  /** Most SRV records used from one RRset; the rest are rejected. */
  maxSrvRecords: number
  /** Targets resolved at once. */
  concurrency: number
  /** Seed for the RFC 2782 weighted order; the order of an unchanged RRset stays the same. */
  seed: number
}

interface TargetInfo {
  identity: { id: string; name?: string | undefined; meta?: Readonly<Record<string, string>> | undefined }
  ips: string[]
  /** A/AAAA records dropped as undialable while others of the target were kept (counted). */
  dropped: Rejected[]
  expiresAt: number
}

/** Resolves an SRV name into peers: SRV, then TXT and A/AAAA of every target. */
export class ServiceResolver {
  readonly #dns: CachingResolver
  readonly #options: ServiceResolverOptions

  constructor(dns: CachingResolver, options: ServiceResolverOptions) {
    this.#dns = dns
    this.#options = options
  }

  /**
   * Resolves `service` (an SRV owner name). Rejects when the SRV question itself fails
   * transiently; per-target failures are reported in `unresolved`.
   */
  async resolveService(
    service: string,
    options: { signal?: AbortSignal | undefined; freshUntil?: number } = {},
  ): Promise<ServiceAnswer> {
    const srv = await this.#dns.resolve(service, 'SRV', options)
    if (srv.kind === 'negative') return { kind: 'absent', reason: srv.reason, expiresAt: srv.expiresAt }
    const rejected: Rejected[] = []
    const usable: Array<DnsRecord & { type: 'SRV' }> = []
    for (const r of srv.records) {
      if (r.type !== 'SRV') continue
      const key = `srv ${r.target}:${r.port}`
      if (r.target === '' || r.target === '.') continue
      if (r.port < 1) {
        rejected.push({ key, reason: `SRV record for ${r.target} has port 0` })
        continue
      }
      const problem = hostProblem(r.target)
      if (problem !== undefined) {
        rejected.push({
          key: `srv ${quote(r.target.slice(0, 64))}`,
          reason: `SRV target: ${problem}`,
        })
        continue
      }
      usable.push(r)
    }
    if (usable.length === 0 && rejected.length === 0) {
      return { kind: 'absent', reason: 'NOSERVICE', expiresAt: srv.expiresAt }
    }
    // servers rotate RRsets: sort first so that an unchanged RRset always gets the same order
    // (and the same records are cut when there are too many)
    const key = (r: { priority: number; weight: number; port: number; target: string }) =>
      `${r.priority} ${r.weight} ${r.port} ${r.target}`
    usable.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    for (const r of usable.splice(this.#options.maxSrvRecords)) {
      rejected.push({
        key: `srv ${r.target}:${r.port}`,
        reason: `more than ${this.#options.maxSrvRecords} SRV records`,
      })
    }
    const rrsetKey = usable.map(key).join('|')
    const ordered = orderSrvRecords(usable, seededRandom(this.#options.seed ^ hash32(rrsetKey)))
    const targets = [...new Set(ordered.map((r) => r.target))]
    const infos = new Map<string, TargetInfo>()
    const unresolved = new Map<string, Error>()
    let expiresAt = srv.expiresAt
    await eachLimited(targets, this.#options.concurrency, async (target) => {
      try {
        const info = await this.#resolveTarget(target, options)
        if (typeof info === 'string') rejected.push({ key: `target ${target}`, reason: info })
        else {
          rejected.push(...info.dropped)
          infos.set(target, info)
          expiresAt = Math.min(expiresAt, info.expiresAt)
        }
      } catch (error) {
        if (options.signal?.aborted) throw error
        unresolved.set(target, toError(error))
      }
    })
    const candidates = this.#group(
      ordered.map((r) => ({ target: r.target, port: r.port })),
      infos,
    )
    return { kind: 'present', candidates, rejected, unresolved, expiresAt }
  }

  /**
   * Resolves a single host as a peer at `port` (TXT and A/AAAA of the host): the fallback of a
   * per-node lookup without SRV records.
   */
  async resolveHost(
    host: string,
    port: number,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<ServiceAnswer> {
    const info = await this.#resolveTarget(host, options)
    if (typeof info === 'string') {
      return {
        kind: 'present',
        candidates: [],
        rejected: [{ key: `host ${host}`, reason: info }],
        unresolved: new Map(),
        expiresAt: Date.now(),
      }
    }
    const candidates = this.#group([{ target: host, port }], new Map([[host, info]]))
    return {
      kind: 'present',
      candidates,
      rejected: info.dropped,
      unresolved: new Map(),
      expiresAt: info.expiresAt,
    }
  }

  #group(order: Array<{ target: string; port: number }>, infos: Map<string, TargetInfo>): Candidate[] {
    const byId = new Map<
      string,
      { base: TargetInfo['identity']; addresses: PeerAddress[]; seen: Set<string>; targets: string[] }
    >()
    for (const { target, port } of order) {
      const info = infos.get(target)
      if (info === undefined) continue
      let entry = byId.get(info.identity.id)
      if (entry === undefined) {
        entry = { base: info.identity, addresses: [], seen: new Set(), targets: [] }
        byId.set(info.identity.id, entry)
      }
      if (!entry.targets.includes(target)) entry.targets.push(target)
      for (const ip of info.ips) {
        const key = `${ip}|${port}`
        if (entry.seen.has(key) || entry.addresses.length >= this.#options.maxAddresses) continue
        entry.seen.add(key)
        entry.addresses.push({ host: ip, port })
      }
    }
    return [...byId.values()].map(({ base, addresses, targets }) => ({
      id: base.id,
      ...(base.name !== undefined ? { name: base.name } : {}),
      ...(base.meta !== undefined ? { meta: base.meta } : {}),
      addresses,
      targets,
    }))
  }

  /** TXT (unless ids come from labels only) and A/AAAA of one target; a string when unusable. */
  async #resolveTarget(
    target: string,
    options: { signal?: AbortSignal | undefined; freshUntil?: number },
  ): Promise<TargetInfo | string> {
    if (isIP(target) !== 0) return `target ${target} is an IP address, not a name`
    const wantTxt = this.#options.idSource !== 'label'
    const lookups: Array<Promise<Resolved>> = []
    if (wantTxt) lookups.push(this.#dns.resolve(target, 'TXT', options))
    for (const family of this.#options.families)
      lookups.push(this.#dns.resolve(target, family === 4 ? 'A' : 'AAAA', options))
    const results = await Promise.all(lookups)
    const txt = wantTxt ? results.shift()! : undefined
    let txtStrings: string[] | undefined
    if (txt?.kind === 'positive') {
      // several TXT records on one name come in any order: sort them so that "first wins" is stable
      const records = txt.records.flatMap((r) => (r.type === 'TXT' ? [r.strings] : []))
      records.sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : a.join('\n') > b.join('\n') ? 1 : 0))
      txtStrings = records.flat()
    }
    // a target that does not exist or has no address is reported as such, whatever its id says
    if (results.every((r) => r.kind === 'negative' && r.reason === 'NXDOMAIN') && txt?.kind !== 'positive') {
      return `target ${target} does not exist (NXDOMAIN)`
    }
    const ips: string[] = []
    const dropped: Rejected[] = []
    let undialable: string | undefined
    for (const r of results) {
      if (r.kind !== 'positive') continue
      const family: string[] = []
      for (const rec of r.records) {
        if (rec.type !== 'A' && rec.type !== 'AAAA') continue
        // 0.0.0.0, multicast, broadcast: dropped (counted), the target's other addresses kept
        const problem = undialableHostProblem(rec.address)
        if (problem === undefined) family.push(rec.address)
        else {
          undialable ??= problem
          dropped.push({
            key: `address ${target} ${rec.address}`,
            reason: `target ${target}: ${rec.type} record ${rec.address} is not dialable (${problem})`,
          })
        }
      }
      // servers rotate A/AAAA RRsets: a stable order keeps an unchanged peer unchanged
      ips.push(...family.sort())
    }
    if (ips.length === 0) {
      if (undialable !== undefined) return `target ${target} has no dialable address (${undialable})`
      const types = this.#options.families.map((f) => (f === 4 ? 'A' : 'AAAA')).join('/')
      return `target ${target} has no address (no ${types} records)`
    }
    const identity = identify(target, txtStrings, this.#options.idSource, this.#options.txtLimits)
    if (typeof identity === 'string') return identity
    const expiresAt = Math.min(...(txt ? [txt] : []).concat(results).map((r) => r.expiresAt))
    return { identity, ips, dropped, expiresAt }
  }
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!
      await fn(item)
    }
  })
  await Promise.all(workers)
}

import {
  type AbortOptions,
  AbstractDiscoveryBackend,
  DEFAULT_RECORD_LIMITS,
  delay,
  ipFamily,
  isNodeId,
  isNodeName,
  type PeerRecord,
  parseNodeName,
  parsePeerRecord,
  raceSignal,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  BACKEND_OPTION_KEYS,
  backoffDelay,
  describeValue,
  errorMessage,
  numberOption,
  type RandomSource,
  seededRandom,
  warnUnknownOptions,
} from '@peer/discovery-core/internal'
import {
  count,
  type DnsDiscoveryOptions,
  durationSeconds,
  seconds,
  serviceAndDomain,
} from './discovery-options.js'
import { CachingResolver } from './dns-cache.js'
import { DnsClient, type DnsClientStats } from './dns-client.js'
import { normaliseName } from './dns-message.js'
import { DnsConfigError, DnsLookupError } from './errors.js'
import { type Candidate, type ServiceAnswer, ServiceResolver } from './service-resolver.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const DNS_DISCOVERY_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...BACKEND_OPTION_KEYS,
  'attempts',
  'concurrency',
  'defaultPort',
  'domain',
  'families',
  'idSource',
  'jitter',
  'maxCacheEntries',
  'maxNegativeTtl',
  'maxNegativeTtlMs',
  'maxRetryDelayMs',
  'maxSrvRecords',
  'maxTtl',
  'maxTtlMs',
  'minTtl',
  'minTtlMs',
  'negativeTtl',
  'negativeTtlMs',
  'resolvers',
  'retryDelay',
  'retryDelayMs',
  'seed',
  'service',
  'servicePrefix',
  'source',
  'staleAfter',
  'staleAfterMs',
  'timeoutMs',
  'udpPayloadSize',
])

export type { DnsDiscoveryOptions } from './discovery-options.js'

/** Counters of a {@link DnsDiscovery} beyond the common ones. */
export interface DnsDiscoveryStats {
  /** Polls of the service that completed (with or without failures). */
  polls: number
  /** Polls whose SRV question failed transiently. */
  failedPolls: number
  /** The DNS client's counters (queries sent, truncations, timeouts, ...). */
  client: Readonly<DnsClientStats>
  /** Answers in the cache. */
  cacheEntries: number
  /** Cache hits, misses, and A/AAAA RRsets taken from SRV answers' additional sections. */
  cache: { hits: number; misses: number; primed: number }
  /**
   * Service names dropped from TXT `services=` lists because they were not of the grammar
   * (`isServiceName` of `@peer/discovery-core`); counted once per node and list. The same as
   * `stats.droppedServiceNames`, which every backend built on `AbstractDiscoveryBackend` counts.
   */
  droppedServiceNames: number
  /**
   * TXT `services=` lists dropped whole (more than `MAX_SERVICES` names); once per node and list.
   * The same as `stats.droppedServiceLists`.
   */
  droppedServiceLists: number
}

interface Known {
  record: PeerRecord
  targets: readonly string[]
  confirmedAt: number
}

/**
 * Peer discovery from DNS: watches an SRV name (`_peer._udp.<domain>` by default), resolves every
 * target through A and AAAA, reads node ids from TXT `id=` attributes and/or `<node id>.` target
 * labels, and turns successive answers into `peer:discovered` / `peer:updated` / `peer:lost`.
 *
 * Answers are cached for their TTL (clamped to `minTtlMs`..`maxTtlMs`; negative answers as RFC 2308
 * says), the service is re-queried when the first cached answer expires (plus jitter), and a
 * transient failure (timeout, SERVFAIL, REFUSED, a malformed answer) keeps the last good peers
 * until they are older than `staleAfterMs`. An NXDOMAIN or empty answer loses the peers at once.
 *
 * Capabilities: `list`, `watch`, `expiry` (DNS is read-only here: no `announce`).
 */
export class DnsDiscovery extends AbstractDiscoveryBackend {
  /** The SRV name watched. */
  readonly service: string
  /** The zone names are qualified with in `lookup()`. */
  readonly domain: string
  readonly #client: DnsClient
  readonly #cache: CachingResolver
  readonly #resolver: ServiceResolver
  readonly #servicePrefix: string
  readonly #defaultPort: number
  readonly #minTtl: number
  readonly #maxTtl: number
  readonly #jitter: number
  readonly #staleAfterMs: number
  readonly #retryDelay: number
  readonly #maxRetryDelayMs: number | undefined
  /** Wait (ms, before jitter) that the last good answer asked for: the default retry cap. */
  #lastGoodWaitMs: number | undefined
  #staleTimer: NodeJS.Timeout | undefined
  readonly #random: RandomSource
  readonly #concurrency: number
  readonly #known = new Map<string, Known>()
  /** Keys of rejected records seen in the previous poll: each distinct bad record is counted once. */
  #rejectedKeys = new Set<string>()
  #loop: Promise<void> | undefined
  #loopAbort: AbortController | undefined
  #polls = 0
  #failedPolls = 0
  /** Since the last start: the service was present once, or its absence was reported already. */
  #absentSaid = false
  #failures = 0

  constructor(options: DnsDiscoveryOptions) {
    super(options?.source ?? 'dns', ['list', 'watch', 'expiry'], options)
    if (typeof options !== 'object' || options === null) throw new DnsConfigError('options are required')
    warnUnknownOptions('DnsDiscovery', options, DNS_DISCOVERY_OPTION_KEYS)
    this.#client = new DnsClient({
      resolvers: options.resolvers,
      timeoutMs: options.timeoutMs,
      attempts: options.attempts,
      udpPayloadSize: options.udpPayloadSize,
    })
    const { service, domain } = serviceAndDomain(options.service, options.domain, options.servicePrefix)
    this.service = service
    this.domain = domain
    this.#servicePrefix = normaliseName(options.servicePrefix ?? '_peer._udp')
    const port = { integer: true, min: 1, max: 65535 }
    this.#defaultPort = numberOption(options.defaultPort, 'defaultPort', 4433, port, DnsConfigError)
    this.#minTtl = durationSeconds(options, 'minTtlMs', 'minTtl', 2, 0.01)
    this.#maxTtl = durationSeconds(options, 'maxTtlMs', 'maxTtl', 60, this.#minTtl)
    const negativeTtl = durationSeconds(options, 'negativeTtlMs', 'negativeTtl', 5, 0)
    const maxNegativeTtl = durationSeconds(options, 'maxNegativeTtlMs', 'maxNegativeTtl', 60, this.#minTtl)
    this.#jitter = numberOption(options.jitter, 'jitter', 0.1, { min: 0, max: 1 }, DnsConfigError)
    this.#staleAfterMs = durationSeconds(options, 'staleAfterMs', 'staleAfter', 300, 0) * 1000
    this.#retryDelay = durationSeconds(options, 'retryDelayMs', 'retryDelay', 1, 0.01)
    this.#maxRetryDelayMs =
      options.maxRetryDelayMs === undefined
        ? undefined
        : seconds(options.maxRetryDelayMs, 0, 'maxRetryDelayMs', 1)
    const idSource = options.idSource ?? 'txt-or-label'
    if (!['txt', 'label', 'txt-or-label'].includes(idSource)) {
      throw new DnsConfigError(
        `idSource must be 'txt', 'label' or 'txt-or-label', got ${describeValue(idSource)}`,
        { option: 'idSource' },
      )
    }
    const families = options.families ?? [4, 6]
    if (families.length === 0 || families.some((f) => f !== 4 && f !== 6)) {
      throw new DnsConfigError(`families must be 4 and/or 6, got ${describeValue(families)}`, {
        option: 'families',
      })
    }
    this.#concurrency = count(options.concurrency, 32, 'concurrency')
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32)
    this.#random = seededRandom(seed ^ 0x9e3779b9)
    this.#cache = new CachingResolver(
      this.#client,
      { minTtl: this.#minTtl, maxTtl: this.#maxTtl, negativeTtl, maxNegativeTtl },
      { maxEntries: count(options.maxCacheEntries, 10_000, 'maxCacheEntries') },
    )
    const limits = { ...DEFAULT_RECORD_LIMITS, ...this.recordLimits }
    this.#resolver = new ServiceResolver(this.#cache, {
      idSource,
      families: [...new Set(families)],
      txtLimits: limits,
      maxAddresses: limits.maxAddresses,
      maxSrvRecords: count(options.maxSrvRecords, 1000, 'maxSrvRecords'),
      concurrency: this.#concurrency,
      seed: seed >>> 0,
    })
  }

  /** Backend counters plus DNS-specific ones. */
  get dnsStats(): Readonly<DnsDiscoveryStats> {
    return {
      polls: this.#polls,
      failedPolls: this.#failedPolls,
      client: this.#client.stats,
      cacheEntries: this.#cache.size,
      cache: this.#cache.counters,
      droppedServiceNames: this.stats.droppedServiceNames,
      droppedServiceLists: this.stats.droppedServiceLists,
    }
  }

  /**
   * Starts the poll loop and resolves once the first poll has finished (with peers or with a failure),
   * so that `list()` is useful right away; `signal` aborts that wait.
   */
  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    const controller = new AbortController()
    this.#loopAbort = controller
    let firstPollDone!: () => void
    const firstPoll = new Promise<void>((resolve) => {
      firstPollDone = resolve
    })
    this.#loop = this.#run(controller.signal, firstPollDone)
    // start() returns once the first answer (or failure) is in, so list() is useful right away
    await raceSignal(firstPoll, signal)
  }

  /**
   * Ends the poll loop and waits for it, then forgets the known peers, empties the cache and closes
   * the DNS client's UDP sockets.
   */
  protected async onStop(): Promise<void> {
    this.#loopAbort?.abort(new Error('stopped'))
    await this.#loop
    this.#loop = undefined
    this.#loopAbort = undefined
    this.#known.clear()
    this.#rejectedKeys.clear()
    this.#cache.clear()
    this.#absentSaid = false
    this.#client.close()
    clearTimeout(this.#staleTimer)
    this.#staleTimer = undefined
    this.#lastGoodWaitMs = undefined
    this.#failures = 0
  }

  async #run(signal: AbortSignal, firstPollDone: () => void): Promise<void> {
    while (!signal.aborted) {
      let waitMs: number
      try {
        waitMs = await this.#pollOnce(signal)
      } catch (error) {
        // a bug, not DNS: report it and keep the loop (and the process) alive
        if (signal.aborted) break
        this.reportError(error)
        waitMs = this.#retryWait()
      }
      firstPollDone()
      if (signal.aborted) break
      try {
        await delay(waitMs, signal)
      } catch {
        break
      }
    }
    firstPollDone()
  }

  /** One poll: query, diff, report. Returns how long to wait before the next one, in ms. */
  async #pollOnce(signal: AbortSignal): Promise<number> {
    const now = Date.now()
    const slackMs = Math.max(50, this.#minTtl * 200)
    let answer: ServiceAnswer
    try {
      answer = await this.#resolver.resolveService(this.service, { signal, freshUntil: now + slackMs })
    } catch (error) {
      if (signal.aborted) return 0
      this.#polls++
      this.#failedPolls++
      this.reportError(error)
      this.#expireStale(Date.now())
      const wait = this.#retryWait()
      this.log.debug('service query failed', {
        service: this.service,
        error: errorMessage(error),
        retryInMs: wait,
      })
      return wait
    }
    this.#polls++
    this.#cache.sweep()
    if (answer.kind === 'absent') {
      if (this.#absentSaid) this.log.debug('service absent', { service: this.service, reason: answer.reason })
      else {
        // never there since the start: most likely a wrong domain or service name
        this.#absentSaid = true
        this.log.warn(
          'no SRV records for the service: no peers until the zone lists some (check domain and service)',
          {
            service: this.service,
            reason: answer.reason,
          },
        )
      }
      for (const id of [...this.#known.keys()]) this.#lose(id, 'removed')
      this.#countRejected([])
      return this.#good(answer.expiresAt)
    }
    this.#absentSaid = true
    const confirmedAt = Date.now()
    const seen = new Set<string>()
    const rejected = [...answer.rejected]
    for (const candidate of answer.candidates) {
      const record = this.#validate(candidate, rejected)
      if (record === undefined) continue
      seen.add(record.id)
      this.#report(record, candidate.targets, confirmedAt)
    }
    this.#countRejected(rejected)
    // peers behind targets that could not be resolved this time are kept (until stale)
    const retained = new Set<string>()
    if (answer.unresolved.size > 0) {
      for (const [id, known] of this.#known) {
        if (!seen.has(id) && known.targets.some((t) => answer.unresolved.has(t))) retained.add(id)
      }
      for (const error of answer.unresolved.values()) this.reportError(error)
    }
    for (const id of [...this.#known.keys()]) {
      if (!seen.has(id) && !retained.has(id)) this.#lose(id, 'removed')
    }
    this.#expireStale(confirmedAt)
    this.log.debug('service polled', {
      service: this.service,
      peers: seen.size,
      rejected: rejected.length,
      unresolved: answer.unresolved.size,
    })
    if (answer.unresolved.size > 0) return Math.min(this.#retryWait(), this.#wait(answer.expiresAt))
    return this.#good(answer.expiresAt)
  }

  #validate(candidate: Candidate, rejected: Array<{ key: string; reason: string }>): PeerRecord | undefined {
    const parsed = parsePeerRecord(
      {
        id: candidate.id,
        name: candidate.name,
        addresses: candidate.addresses,
        meta: candidate.meta,
        source: this.source,
      },
      this.recordLimits,
    )
    if (!parsed.ok) {
      rejected.push({
        key: `peer ${candidate.id} ${candidate.targets.join(',')}`,
        reason: parsed.error.message,
      })
      return undefined
    }
    return parsed.record
  }

  #report(record: PeerRecord, targets: readonly string[], confirmedAt: number): void {
    if (record.id === this.selfId) return
    const accepted = this.reportPeer(record)
    if (accepted === undefined) return
    this.#known.set(record.id, { record: accepted, targets, confirmedAt })
  }

  #lose(id: string, reason: 'removed' | 'stale'): void {
    this.#known.delete(id)
    this.reportLost(id, reason)
  }

  /**
   * Loses the peers last confirmed `staleAfterMs` ago or longer, then arms a timer for the next one
   * to go stale: loss is reported at `staleAfterMs`, not at the next (retry) poll.
   */
  #expireStale(now: number): void {
    let next = Number.POSITIVE_INFINITY
    for (const [id, known] of [...this.#known]) {
      const staleAt = known.confirmedAt + this.#staleAfterMs
      if (now >= staleAt) this.#lose(id, 'stale')
      else next = Math.min(next, staleAt)
    }
    clearTimeout(this.#staleTimer)
    this.#staleTimer = undefined
    if (next === Number.POSITIVE_INFINITY || this.#loopAbort?.signal.aborted !== false) return
    this.#staleTimer = setTimeout(
      () => {
        this.#staleTimer = undefined
        this.#expireStale(Date.now())
      },
      Math.max(0, next - now),
    )
  }

  #countRejected(rejected: ReadonlyArray<{ key: string; reason: string }>): void {
    const keys = new Set<string>()
    for (const r of rejected) {
      keys.add(r.key)
      if (!this.#rejectedKeys.has(r.key)) this.countInvalid(r.reason)
    }
    this.#rejectedKeys = keys
  }

  #wait(expiresAt: number): number {
    return Math.round(this.#waitBase(expiresAt) * (1 + this.#jitter * this.#random()))
  }

  #waitBase(expiresAt: number): number {
    return Math.min(Math.max(expiresAt - Date.now(), this.#minTtl * 1000), this.#maxTtl * 1000)
  }

  /** A good answer came in: the next poll is when it expires, and it sets the retry cap. */
  #good(expiresAt: number): number {
    this.#failures = 0
    const base = this.#waitBase(expiresAt)
    this.#lastGoodWaitMs = base
    return Math.round(base * (1 + this.#jitter * this.#random()))
  }

  /** The retry cap: `maxRetryDelayMs`, else the last good answer's lifetime, else `maxTtlMs`. */
  get #retryCapMs(): number {
    const cap = this.#maxRetryDelayMs ?? this.#lastGoodWaitMs ?? this.#maxTtl * 1000
    return Math.max(cap, this.#retryDelay * 1000)
  }

  #retryWait(): number {
    const attempt = this.#failures
    this.#failures = Math.min(this.#failures + 1, 30)
    // jitter shortens retries so that the cap holds
    return backoffDelay(attempt, {
      initialMs: this.#retryDelay * 1000,
      maxMs: this.#retryCapMs,
      jitter: this.#jitter,
      random: this.#random,
    })
  }

  /**
   * Finds one node by id or node name. Known peers answer at once; otherwise DNS is asked as
   * Erlang quic's DNS discovery does: the per-node SRV `<servicePrefix>.<host>` first (host is
   * the name's host part, or `<id>` for an id, qualified with `domain` when it has no dot), then
   * A/AAAA of the host with `defaultPort`. Resolves `undefined` when DNS says there is no such
   * node (or no node id can be read); rejects with a {@link DnsLookupError} when DNS fails.
   */
  override async lookup(nameOrId: string, options: AbortOptions = {}): Promise<PeerRecord | undefined> {
    throwIfAborted(options.signal)
    const known = this.findKnown(nameOrId)
    if (known !== undefined) return known
    let host: string
    let wantedName: string | undefined
    if (isNodeId(nameOrId)) host = nameOrId
    else if (typeof nameOrId === 'string' && isNodeName(nameOrId)) {
      const parsed = parseNodeName(nameOrId)
      if (parsed.kind !== 'name' || ipFamily(parsed.host) !== 0) return undefined
      host = parsed.host
      wantedName = nameOrId
    } else return undefined
    host = normaliseName(host.includes('.') ? host : `${host}.${this.domain}`)
    if (host.length > 253) return undefined
    const signal = options.signal
    try {
      const srv = await raceSignal(
        this.#resolver.resolveService(`${this.#servicePrefix}.${host}`, { signal }),
        signal,
      )
      let answer = srv
      if (srv.kind === 'absent') {
        answer = await raceSignal(this.#resolver.resolveHost(host, this.#defaultPort, { signal }), signal)
      }
      if (answer.kind !== 'present') return undefined
      const pick =
        answer.candidates.find(
          (c) => c.id === nameOrId || (wantedName !== undefined && c.name === wantedName),
        ) ?? (answer.candidates.length === 1 && !isNodeId(nameOrId) ? answer.candidates[0] : undefined)
      if (pick === undefined) {
        if (answer.unresolved.size > 0) throw [...answer.unresolved.values()][0]
        return undefined
      }
      const record = parsePeerRecord(
        { ...pick, name: pick.name ?? wantedName, source: this.source },
        this.recordLimits,
      )
      if (!record.ok) return undefined
      return record.record.id === this.selfId ? undefined : record.record
    } catch (error) {
      if (signal?.aborted) throw error
      if (error instanceof Error && error.name === 'AbortError') throw error
      throw new DnsLookupError(`DNS lookup of ${nameOrId} failed: ${errorMessage(error)}`, { cause: error })
    }
  }
}

import {
  type AbortOptions,
  AbstractAnnouncingBackend,
  type BackendOptions,
  isNodeId,
  type LocalPeer,
  type PeerRecord,
  raceSignal,
  sameRecord,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  backoffDelay,
  errorMessage,
  numberOption,
  renamedOption,
  SerialLock,
  withTimeout,
} from '@peer/discovery-core/internal'
import type { Etcd3, IKeyValue, IOptions, IResponseHeader, IWatchResponse } from 'etcd3'
import { EtcdDiscoveryError, InvalidEtcdOptionsError } from './errors.js'
import { createEtcdClient, timedOut } from './etcd-client.js'
import { EtcdWatch } from './etcd-watch.js'
import { LeaseKeeper } from './lease-keeper.js'
import {
  DEFAULT_MAX_VALUE_BYTES,
  decodeNodeValue,
  encodeNodeValue,
  idFromKey,
  nodeKey,
  nodesPrefix,
} from './node-value.js'
import { ResetDetector } from './reset-detector.js'

/** Options of {@link EtcdDiscovery}. */
export interface EtcdDiscoveryOptions extends BackendOptions {
  /** etcd client URLs (`http://host:2379`); several for a cluster, with failover between them. */
  endpoints: string | readonly string[]
  /** Key prefix; nodes live under `<prefix>/nodes/<id>`. Default `/peer`. */
  prefix?: string | undefined
  /** Lease TTL of this node's announcement, whole seconds >= 1. Default 10. */
  ttl?: number | undefined
  /**
   * How long (ms) the last known peers are kept while etcd is unreachable before they are reported
   * lost with reason `stale`. Default 60,000; `Infinity` keeps them until etcd answers again.
   */
  staleAfterMs?: number | undefined
  /** @deprecated Use `staleAfterMs` (same unit, ms); accepted until the next minor version. */
  staleLimit?: number | undefined
  /**
   * After etcd came back EMPTY (restarted with a new data dir), how long (ms) peers missing from it
   * get to announce themselves again before they are reported lost. Default 2 x `ttl`.
   */
  resetGraceMs?: number | undefined
  /** @deprecated Use `resetGraceMs` (same unit, ms); accepted until the next minor version. */
  resetGrace?: number | undefined
  /** Deadline of each etcd request, ms. Default 3000. */
  requestTimeoutMs?: number | undefined
  /** @deprecated Use `requestTimeoutMs` (same unit, ms); accepted until the next minor version. */
  requestTimeout?: number | undefined
  /** Longest pause between retries and watch reconnection attempts, ms. Default 1000. */
  maxRetryDelayMs?: number | undefined
  /** @deprecated Use `maxRetryDelayMs` (same unit, ms); accepted until the next minor version. */
  maxRetryDelay?: number | undefined
  /**
   * Interval (ms) of a cheap consistency check (one range request) that catches an etcd reset the
   * watch cannot see. Default 30,000; 0 disables it.
   */
  checkIntervalMs?: number | undefined
  /** @deprecated Use `checkIntervalMs` (same unit, ms); accepted until the next minor version. */
  checkInterval?: number | undefined
  /** Largest value read from etcd, bytes; larger ones are counted and dropped. Default 16 KiB. */
  maxValueBytes?: number | undefined
  /** Most keys read by one re-list (a range `limit`). Default `maxPeers` + 1000. */
  maxListKeys?: number | undefined
  /**
   * How many invalid keys are remembered so that a re-list does not count the same bad value
   * again. Default 1024; beyond it the oldest are forgotten (and may be counted again).
   */
  maxTrackedInvalid?: number | undefined
  /** Extra etcd3 client options (auth, TLS credentials, grpc options). */
  client?: Partial<IOptions> | undefined
}

/** Options of {@link EtcdDiscovery.list}. */
export interface EtcdListOptions extends AbortOptions {
  /** Re-list the prefix from etcd before answering, instead of answering from the mirror. */
  fresh?: boolean | undefined
}

/** Counters of the etcd side of the backend; they only grow. */
export interface EtcdDiscoveryCounters {
  /** Unary requests sent (range, put, lease grant, lease revoke) and watches created. */
  requests: number
  /** Lease keepalive messages sent. */
  keepalives: number
  /** Watch events received. */
  watchEvents: number
  /** Full re-lists (start, watch cancelled or compacted, reconnect, reset). */
  resyncs: number
  /** Times etcd was found reset (revision went backwards or the cluster id changed). */
  resets: number
  /** Watches cancelled by etcd (e.g. their revision was compacted). */
  watchCancels: number
  /** Leases granted. */
  leaseGrants: number
  /** Leases lost (keepalive lost for 2 x TTL, lease expired or revoked by someone else). */
  leaseLosses: number
  /** Times the announcement was written again after it was lost or deleted. */
  reannounces: number
  /** Peers reported lost because etcd stayed unreachable longer than `staleAfterMs`. */
  staleDrops: number
}

const SOURCE = 'etcd'

interface Deferred {
  promise: Promise<void>
  resolve: () => void
}

function deferred(): Deferred {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * Peer discovery through etcd v3.
 *
 * - `announce(self)` writes `<prefix>/nodes/<id>` (a versioned JSON value, see `NodeValue`) under a
 *   lease with TTL `ttl`, kept alive by the client; `withdraw()` revokes the lease.
 * - The backend lists the prefix, then watches it from the listed revision + 1 and turns changes
 *   into `peer:discovered`, `peer:updated` and `peer:lost` events; `list()` and `lookup()` answer
 *   from that mirror (`lookup` by id asks etcd when the mirror does not know the id).
 * - Self-healing: a lost or expired lease is granted again and the key re-put; a cancelled or
 *   compacted watch triggers a re-list, a diff against what was known and a new watch; an etcd that
 *   came back EMPTY (revision went backwards, cluster id changed) is detected, re-listed with a grace
 *   period for peers to re-announce, and this node re-announced; while etcd is unreachable the last
 *   known peers are kept for `staleAfterMs`; reconnection happens within about a second.
 * - Several endpoints: requests and watches fail over between cluster members.
 * - Values that are not JSON or do not match the layout are counted in `stats.invalidRecords`.
 *
 * @example
 * ```ts
 * const etcd = new EtcdDiscovery({ endpoints: ['http://127.0.0.1:2379'], prefix: '/my-cluster' })
 * etcd.addEventListener('peer:discovered', (e) => console.log('found', e.detail.record.id))
 * await etcd.start()
 * await etcd.announce({ id, name: 'app@host1', addresses: [{ host: '10.0.0.7', port: 4000 }] })
 * ```
 */
export class EtcdDiscovery extends AbstractAnnouncingBackend {
  /** The key prefix in use (normalised, no trailing slash). */
  readonly prefix: string
  /** Lease TTL in seconds. */
  readonly ttl: number

  readonly #endpoints: readonly string[]
  readonly #keyPrefix: string
  readonly #staleLimit: number
  readonly #resetGrace: number
  readonly #requestTimeout: number
  readonly #maxRetryDelay: number
  readonly #checkInterval: number
  readonly #maxValueBytes: number
  readonly #maxListKeys: number
  readonly #maxTrackedInvalid: number
  readonly #clientOptions: Partial<IOptions> | undefined

  readonly #counters: EtcdDiscoveryCounters = {
    requests: 0,
    keepalives: 0,
    watchEvents: 0,
    resyncs: 0,
    resets: 0,
    watchCancels: 0,
    leaseGrants: 0,
    leaseLosses: 0,
    reannounces: 0,
    staleDrops: 0,
  }

  #client: Etcd3 | undefined
  #watch: EtcdWatch | undefined
  /** Cancels of retired watches still in flight (each bounded by `requestTimeout`). */
  readonly #retiring = new Set<Promise<void>>()
  readonly #leases: LeaseKeeper
  /** The id whose key the current lease holds (set by each successful write). */
  #publishedId: string | undefined
  #publishedValue: string | undefined
  readonly #resets = new ResetDetector()
  #everPublished = false
  #lastOverwriteFix = 0
  #overwriteTimer: NodeJS.Timeout | undefined

  #needResync = false
  #needPublish = false
  #needCheck = false
  #wake: (() => void) | undefined
  #loopAbort: AbortController | undefined
  #loopDone: Promise<void> | undefined
  #firstPass: Deferred | undefined
  readonly #lock = new SerialLock()

  #disconnected = false
  #staleTimer: NodeJS.Timeout | undefined
  #checkTimer: NodeJS.Timeout | undefined
  readonly #pendingLoss = new Map<string, number>()
  #pendingTimer: NodeJS.Timeout | undefined
  readonly #invalidSeen = new Map<string, string>()

  constructor(options: EtcdDiscoveryOptions) {
    super(SOURCE, ['announce', 'list', 'watch', 'expiry'], options)
    const endpoints =
      typeof options.endpoints === 'string' ? [options.endpoints] : [...(options.endpoints ?? [])]
    if (endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string' || e === '')) {
      throw new InvalidEtcdOptionsError('endpoints: give at least one etcd URL such as http://127.0.0.1:2379')
    }
    const ttl = options.ttl ?? 10
    if (!Number.isInteger(ttl) || ttl < 1)
      throw new InvalidEtcdOptionsError(`ttl: whole seconds >= 1, got ${ttl}`)
    const positive = (name: string, value: unknown, fallback: number, allowZero = false) =>
      value === Number.POSITIVE_INFINITY
        ? value
        : numberOption(value, name, fallback, { min: 0, exclusiveMin: !allowZero }, InvalidEtcdOptionsError)
    const ms = (current: string, deprecated: string) =>
      renamedOption(options, { current, deprecated, owner: 'EtcdDiscovery', error: InvalidEtcdOptionsError })
    this.#endpoints = endpoints
    this.ttl = ttl
    this.prefix = nodesPrefix(options.prefix ?? '/peer').slice(0, -'/nodes/'.length)
    this.#keyPrefix = nodesPrefix(this.prefix)
    this.#staleLimit = positive('staleAfterMs', ms('staleAfterMs', 'staleLimit'), 60_000)
    this.#resetGrace = positive('resetGraceMs', ms('resetGraceMs', 'resetGrace'), 2 * ttl * 1000, true)
    this.#requestTimeout = positive('requestTimeoutMs', ms('requestTimeoutMs', 'requestTimeout'), 3000)
    this.#maxRetryDelay = positive('maxRetryDelayMs', ms('maxRetryDelayMs', 'maxRetryDelay'), 1000)
    this.#checkInterval = positive('checkIntervalMs', ms('checkIntervalMs', 'checkInterval'), 30_000, true)
    this.#maxValueBytes = positive('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES)
    this.#maxListKeys = positive('maxListKeys', options.maxListKeys, this.maxPeers + 1000)
    this.#maxTrackedInvalid = positive('maxTrackedInvalid', options.maxTrackedInvalid, 1024)
    this.#clientOptions = options.client
    this.#leases = new LeaseKeeper({
      ttl: this.ttl,
      requestTimeoutMs: this.#requestTimeout,
      counters: this.#counters,
      onLost: (error) => this.#onLeaseLost(error),
      onHeader: (header) => this.#observeHeader(header),
      guarded: (operation, fn) => this.#guarded(operation, fn),
      log: this.log,
    })
  }

  /** Counters of requests, keepalives, resyncs and recoveries (a copy). */
  get etcdStats(): Readonly<EtcdDiscoveryCounters> {
    return { ...this.#counters }
  }

  /** The etcd revision the mirror is at (0 before the first list). */
  get revision(): number {
    return this.#resets.revision
  }

  /** True once the prefix was listed, as long as the watch has not lost its connection since. */
  get connected(): boolean {
    return this.started && this.#resets.synced && !this.#disconnected
  }

  // ---------------------------------------------------------------- lifecycle

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    this.#client = createEtcdClient({
      endpoints: this.#endpoints,
      requestTimeoutMs: this.#requestTimeout,
      maxRetryDelayMs: this.#maxRetryDelay,
      client: this.#clientOptions,
    })
    this.#resets.clear()
    this.#disconnected = false
    this.#invalidSeen.clear()
    this.#needResync = true
    this.#needPublish = this.announcement !== undefined
    this.#needCheck = false
    const abort = new AbortController()
    this.#loopAbort = abort
    const first = deferred()
    this.#firstPass = first
    // the loop catches its own failures; this catch only makes sure nothing can go unobserved
    this.#loopDone = this.#loop(abort.signal).catch((error: unknown) =>
      this.log.error('healing loop failed', { error: errorMessage(error) }),
    )
    if (this.#checkInterval > 0) {
      this.#checkTimer = setInterval(() => {
        this.#needCheck = true
        this.#kick()
      }, this.#checkInterval)
    }
    // Wait for the first list, its first failure or requestTimeout, whichever comes first: etcd
    // may come later, the loop keeps trying in the background.
    await withTimeout(first.promise, this.#requestTimeout, () => new Error('first list'), signal).catch(
      (error: unknown) => {
        if (signal?.aborted) throw error
      },
    )
  }

  protected async onStop(): Promise<void> {
    this.#loopAbort?.abort()
    this.#kick()
    this.#clearTimers()
    const client = this.#client
    // watchers must be cancelled before the client closes, or the process never exits
    await this.#exclusive(async () => {
      this.#retireWatch()
      const lease = this.#leases.take()
      this.#publishedValue = undefined
      if (lease !== undefined) await this.#leases.revoke(lease)
    }).catch((error: unknown) => this.log.debug('stop cleanup failed', { error: errorMessage(error) }))
    await this.#loopDone?.catch(() => {})
    // let the cancels finish before the client closes: the watch streams then end cleanly
    await Promise.all([...this.#retiring])
    this.#clearTimers() // again: a step that was running may have armed one
    this.#loopDone = undefined
    this.#loopAbort = undefined
    this.#firstPass = undefined
    this.#client = undefined
    client?.close()
  }

  #clearTimers(): void {
    clearTimeout(this.#overwriteTimer)
    this.#overwriteTimer = undefined
    clearInterval(this.#checkTimer)
    this.#checkTimer = undefined
    this.#clearStale()
    clearTimeout(this.#pendingTimer)
    this.#pendingTimer = undefined
    this.#pendingLoss.clear()
  }

  // ---------------------------------------------------------------- announce / withdraw

  /**
   * Rejects an announcement whose encoded value is above `maxValueBytes` (before anything
   * changes). `announce()` itself comes from `AbstractAnnouncingBackend`: it checks the signal,
   * validates the record and remembers it; before `start()` it is written on start.
   */
  protected override checkAnnouncement(self: LocalPeer): void {
    const bytes = Buffer.byteLength(encodeNodeValue(self))
    if (bytes > this.#maxValueBytes) {
      throw new InvalidEtcdOptionsError(`announcement is ${bytes} bytes, above maxValueBytes`)
    }
  }

  /**
   * Writes this node under `<prefix>/nodes/<id>` with a lease of `ttl` seconds (kept alive), or
   * replaces the announcement. Rejects with {@link EtcdDiscoveryError} when etcd cannot be reached;
   * the announcement is still remembered and written as soon as etcd answers.
   */
  protected async doAnnounce(local: LocalPeer): Promise<void> {
    if (this.#client === undefined || this.#loopAbort === undefined) return
    await this.#exclusive(async () => {
      if (this.announcement !== local) return // replaced meanwhile
      const previousId = this.#publishedId
      const current = this.#leases.current
      if (previousId !== undefined && previousId !== local.id && current !== undefined) {
        // a new identity: take the old key away with its lease
        this.#leases.take()
        await this.#leases.revoke(current)
      }
      this.#needPublish = false
      try {
        await this.#publish()
      } catch (error) {
        this.#needPublish = true
        this.#kick()
        throw new EtcdDiscoveryError('announce', `${errorMessage(error)} (will keep retrying)`, {
          cause: error,
        })
      }
    })
  }

  /**
   * Removes this node's announcement by revoking its lease (its key goes with it). When etcd is
   * unreachable the keepalive stops and the key expires within `ttl` seconds.
   */
  protected async doWithdraw(): Promise<void> {
    this.#needPublish = false
    if (this.#client === undefined) return
    await this.#exclusive(async () => {
      if (this.announcement !== undefined) return // announced again meanwhile
      const lease = this.#leases.take()
      this.#publishedValue = undefined
      if (lease !== undefined) await this.#leases.revoke(lease)
    })
  }

  // ---------------------------------------------------------------- queries

  /**
   * Finds a peer by node id or name in the mirror; an id the mirror does not know is looked up in
   * etcd directly (a single-key range), so a peer dropped by `maxPeers` can still be found.
   */
  override async lookup(nameOrId: string, options: AbortOptions = {}): Promise<PeerRecord | undefined> {
    throwIfAborted(options.signal)
    const known = this.findKnown(nameOrId)
    if (known !== undefined || !isNodeId(nameOrId) || nameOrId === this.selfId) return known
    const client = this.#client
    if (client === undefined || !this.started) return undefined
    try {
      this.#counters.requests++
      const res = await raceSignal(client.get(nodeKey(this.prefix, nameOrId)).exec(), options.signal)
      const kv = res.kvs[0]
      if (kv === undefined) return undefined
      const decoded = this.#decode(kv)
      return decoded.ok ? decoded.record : undefined
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error
      this.log.debug('lookup in etcd failed', { error: errorMessage(error) })
      return undefined
    }
  }

  /**
   * Every peer known: the mirror of the `<prefix>/nodes/` range, kept current by the watch (and
   * kept while etcd is unreachable, up to `staleLimit`). `{ fresh: true }` re-lists the range from
   * etcd first and rejects with {@link EtcdDiscoveryError} when etcd cannot be reached.
   */
  override async list(options: EtcdListOptions = {}): Promise<PeerRecord[]> {
    throwIfAborted(options.signal)
    if (options.fresh === true) await this.refresh(options)
    return super.list(options)
  }

  /**
   * Re-lists the prefix now and diffs it against the mirror (normally the watch keeps it
   * current). Rejects with {@link EtcdDiscoveryError} when etcd cannot be reached.
   */
  async refresh(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    if (this.#client === undefined || !this.started) return
    await raceSignal(
      this.#exclusive(async () => {
        try {
          await this.#resync()
        } catch (error) {
          this.#needResync = true
          this.#kick()
          throw new EtcdDiscoveryError('refresh', errorMessage(error), { cause: error })
        }
      }),
      options.signal,
    )
  }

  // ---------------------------------------------------------------- the healing loop

  #kick(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn)
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      const publish = this.#needPublish && this.announcement !== undefined
      if (!this.#needResync && !publish && !this.#needCheck) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        continue
      }
      try {
        await this.#exclusive(() => this.#step(signal))
        failures = 0
        this.#firstPass?.resolve()
      } catch (error) {
        this.#firstPass?.resolve()
        if (signal.aborted) return
        failures++
        this.reportError(
          error instanceof EtcdDiscoveryError
            ? error
            : new EtcdDiscoveryError('sync', errorMessage(error), { cause: error }),
        )
        const pause = backoffDelay(failures - 1, { initialMs: 100, maxMs: this.#maxRetryDelay, jitter: 0.25 })
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause)
          this.#wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
    }
  }

  async #step(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    if (this.#needResync) {
      this.#needResync = false
      this.#needCheck = false
      try {
        await this.#resync()
      } catch (error) {
        this.#needResync = true
        throw new EtcdDiscoveryError('resync', errorMessage(error), { cause: error })
      }
    }
    if (signal.aborted) return
    if (this.#needPublish && this.announcement !== undefined) {
      this.#needPublish = false
      try {
        this.#counters.reannounces += this.#everPublished ? 1 : 0
        await this.#publish()
      } catch (error) {
        this.#needPublish = true
        throw new EtcdDiscoveryError('announce', errorMessage(error), { cause: error })
      }
    }
    if (signal.aborted) return
    if (this.#needCheck) {
      this.#needCheck = false
      try {
        await this.#check()
      } catch (error) {
        throw new EtcdDiscoveryError('check', errorMessage(error), { cause: error })
      }
    }
  }

  // ---------------------------------------------------------------- etcd operations

  /** Lists the prefix, diffs it against the mirror and (re)starts the watch at revision + 1. */
  async #resync(): Promise<void> {
    const client = this.#requireClient()
    this.#counters.requests++
    const res = await client.getAll().prefix(this.#keyPrefix).limit(this.#maxListKeys).exec()
    this.#counters.resyncs++
    const reset = this.#resets.isReset(res.header)
    if (reset) {
      this.#counters.resets++
      this.log.warn('etcd was reset (revision went backwards or cluster id changed): resyncing', {
        known: this.#resets.revision,
        now: res.header.revision,
      })
      // our lease is gone with the old data: grant a new one
      if (this.announcement !== undefined) this.#needPublish = true
      this.#invalidSeen.clear() // revisions start again: the same numbers mean other writes
      this.#leases.release()
    }
    this.#resets.listed(res.header)
    if (res.more)
      this.log.warn('prefix holds more keys than maxListKeys; some are ignored', { max: this.#maxListKeys })

    const present = new Set<string>()
    let selfSeen = false
    for (const kv of res.kvs) {
      const id = this.#applyPut(kv, false)
      if (id !== undefined) present.add(id)
      if (id !== undefined && id === this.selfId) selfSeen = true
    }
    for (const record of [...this.knownPeers()]) {
      if (present.has(record.id)) continue
      if (reset && this.#resetGrace > 0) this.#scheduleLoss(record.id)
      else if (!this.#pendingLoss.has(record.id)) this.reportLost(record.id, 'removed')
    }
    if (this.announcement !== undefined && (!selfSeen || this.#leases.current === undefined))
      this.#needPublish = true
    this.#resets.markSynced()
    await this.#rewatch(this.#resets.revision + 1)
    this.#markConnected()
  }

  /** One cheap range: is etcd still the store we are mirroring? */
  async #check(): Promise<void> {
    const client = this.#requireClient()
    this.#counters.requests++
    const res = await client.getAll().prefix(this.#keyPrefix).limit(1).exec()
    if (this.#resets.isReset(res.header)) this.#needResync = true
  }

  async #publish(): Promise<void> {
    const self = this.announcement
    if (self === undefined) return
    const client = this.#requireClient()
    const lease = this.#leases.usable(client)
    const leaseId = await withTimeout(
      lease.grant(),
      this.#requestTimeout * 2,
      timedOut('lease grant', this.#requestTimeout * 2),
    )
    const value = encodeNodeValue(self)
    this.#counters.requests++
    const res = await client.put(nodeKey(this.prefix, self.id)).value(value).lease(leaseId).exec()
    this.#observeHeader(res.header)
    this.#publishedValue = value
    this.#publishedId = self.id
    this.#everPublished = true
  }

  /** The lease keeper lost the current lease (already forgotten there). */
  #onLeaseLost(error: unknown): void {
    this.#publishedValue = undefined
    this.#counters.leaseLosses++
    this.log.info('lease lost: granting a new one', { error: errorMessage(error) })
    if (this.#loopAbort?.signal.aborted !== false) return
    // a lost lease may mean etcd lost its data: re-list too
    this.#needPublish = this.announcement !== undefined
    this.#needResync = true
    this.#kick()
  }

  /** Runs a callback from etcd3's side; an error it throws becomes a `discovery:error`. */
  #guarded(operation: string, fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.reportError(new EtcdDiscoveryError(operation, errorMessage(error), { cause: error }))
    }
  }

  /** A response header from etcd: notices an etcd that went back in time. */
  #observeHeader(header: IResponseHeader | undefined): void {
    if (header === undefined || !this.#resets.synced) return
    if (this.#resets.isReset(header)) {
      if (!this.#needResync)
        this.log.debug('response header shows an etcd reset', { revision: header.revision })
      this.#needResync = true
      this.#kick()
    }
  }

  // ---------------------------------------------------------------- the watch

  async #rewatch(startRevision: number): Promise<void> {
    // the old watch is cancelled in the background: it stays known to etcd3 until etcd confirmed
    // the cancel (see EtcdWatch), and reports nothing more from now on
    this.#retireWatch()
    const client = this.#requireClient()
    this.#counters.requests++
    const watch = new EtcdWatch(client, this.#keyPrefix, startRevision, {
      events: (res) => this.#onWatchEvents(res),
      reconnected: (res) => {
        // a reconnection: did etcd go back in time (restarted with an empty data dir)? In any case
        // re-list: a silent watch on a reset etcd would never deliver anything again.
        this.log.debug('watch reconnected', { revision: res.header.revision })
        this.#markConnected()
        this.#needResync = true
        this.#kick()
      },
      disconnected: (error) => this.#markDisconnected(error),
      cancelled: (error) => {
        // etcd cancelled the watch (e.g. its start revision was compacted): re-list and watch again
        if (this.#watch !== watch) return
        this.#counters.watchCancels++
        this.log.info('watch cancelled by etcd: resyncing', { error: errorMessage(error) })
        this.#retireWatch()
        this.#needResync = true
        this.#kick()
      },
      failed: (error) =>
        this.reportError(new EtcdDiscoveryError('watch', errorMessage(error), { cause: error })),
    })
    this.#watch = watch
    try {
      await watch.ready(this.#requestTimeout)
    } catch (error) {
      if (this.#watch === watch) this.#retireWatch()
      throw error
    }
  }

  #onWatchEvents(res: IWatchResponse): void {
    for (const event of res.events) {
      this.#counters.watchEvents++
      // an old watch may still deliver events the latest list already contains: skip them, or
      // a put older than that list could bring back a peer the list knows is gone
      if (Number(event.kv.mod_revision) <= this.#resets.listRevision) continue
      if (event.type === 'Put') this.#applyPut(event.kv, true)
      else this.#applyDelete(event.kv)
    }
    this.#resets.advance(Number(res.header.revision))
  }

  /** Takes the current watch out of service; its cancel completes in the background. */
  #retireWatch(): void {
    const watch = this.#watch
    this.#watch = undefined
    if (watch === undefined) return
    const done = watch.retire(this.#requestTimeout)
    this.#retiring.add(done)
    void done.then(() => this.#retiring.delete(done))
  }

  #markDisconnected(error: unknown): void {
    if (this.#loopAbort?.signal.aborted !== false) return // stopping
    if (!this.#disconnected) {
      this.#disconnected = true
      this.log.info('etcd unreachable: keeping the last known peers', {
        staleLimit: this.#staleLimit,
        error: errorMessage(error),
      })
    }
    if (this.#staleTimer === undefined && Number.isFinite(this.#staleLimit)) {
      this.#staleTimer = setTimeout(() => {
        this.#staleTimer = undefined
        if (!this.#disconnected || !this.active) return
        const peers = [...this.knownPeers()]
        this.log.warn('etcd unreachable for longer than staleLimit: dropping peers', { count: peers.length })
        this.#counters.staleDrops += peers.length
        for (const record of peers) this.reportLost(record.id, 'stale')
        this.#pendingLoss.clear()
        this.#needResync = true
      }, this.#staleLimit)
    }
  }

  #markConnected(): void {
    this.#disconnected = false
    this.#clearStale()
  }

  #clearStale(): void {
    clearTimeout(this.#staleTimer)
    this.#staleTimer = undefined
  }

  // ---------------------------------------------------------------- applying changes

  #decode(kv: IKeyValue) {
    return decodeNodeValue(this.#keyPrefix, kv.key.toString('utf8'), kv.value, {
      source: SOURCE,
      maxValueBytes: this.#maxValueBytes,
      limits: this.recordLimits,
    })
  }

  /** Applies a key's value; returns the node id when it is a valid node. */
  #applyPut(kv: IKeyValue, fromWatch: boolean): string | undefined {
    const key = kv.key.toString('utf8')
    const decoded = this.#decode(kv)
    if (!decoded.ok) {
      this.#countInvalidOnce(key, kv.mod_revision, decoded.reason)
      // a known peer whose value turned bad is no longer what etcd says
      const id = idFromKey(this.#keyPrefix, key)
      if (id !== undefined) {
        this.#pendingLoss.delete(id)
        this.reportLost(id, 'removed')
      }
      return undefined
    }
    this.#invalidSeen.delete(key)
    const record = decoded.record
    if (record.id === this.selfId) {
      if (fromWatch && this.announcement !== undefined && this.#publishedValue !== undefined) {
        // someone else overwrote our key (e.g. without our lease): put ours back, at most once
        // per TTL, so that two writers misconfigured with one id do not fight in a hot loop
        if (!sameRecord(record, this.announcement) || kv.lease === '0') {
          const now = Date.now()
          if (now - this.#lastOverwriteFix >= this.ttl * 1000) {
            this.#lastOverwriteFix = now
            this.#needPublish = true
            this.#kick()
          } else if (this.#overwriteTimer === undefined) {
            this.log.warn('our key keeps being overwritten: is another node using our id?', { key })
            this.#overwriteTimer = setTimeout(
              () => {
                this.#overwriteTimer = undefined
                this.#lastOverwriteFix = Date.now()
                this.#needPublish = this.announcement !== undefined
                this.#kick()
              },
              this.ttl * 1000 - (now - this.#lastOverwriteFix),
            )
          }
        }
      }
      return record.id
    }
    this.#pendingLoss.delete(record.id)
    this.reportPeer(record)
    return record.id
  }

  #applyDelete(kv: IKeyValue): void {
    const key = kv.key.toString('utf8')
    this.#invalidSeen.delete(key)
    const id = idFromKey(this.#keyPrefix, key)
    if (id === undefined) return
    if (id === this.selfId) {
      if (this.announcement !== undefined && this.#publishedValue !== undefined) {
        // our key was deleted (by hand, or our lease expired): announce again
        this.log.info('our announcement was deleted: writing it again')
        this.#publishedValue = undefined
        this.#needPublish = true
        this.#kick()
      }
      return
    }
    this.#pendingLoss.delete(id)
    this.reportLost(id, 'removed')
  }

  #countInvalidOnce(key: string, modRevision: string, reason: string): void {
    if (this.#invalidSeen.get(key) === modRevision) return
    this.#invalidSeen.delete(key)
    if (this.#invalidSeen.size >= this.#maxTrackedInvalid) {
      const oldest = this.#invalidSeen.keys().next().value
      if (oldest !== undefined) this.#invalidSeen.delete(oldest)
    }
    this.#invalidSeen.set(key, modRevision)
    this.countInvalid(`${key.slice(0, 120)}: ${reason}`)
  }

  #scheduleLoss(id: string): void {
    if (this.#pendingLoss.has(id) || this.#loopAbort?.signal.aborted !== false) return
    this.#pendingLoss.set(id, Date.now() + this.#resetGrace)
    if (this.#pendingTimer === undefined) this.#armPendingTimer()
  }

  #armPendingTimer(): void {
    clearTimeout(this.#pendingTimer)
    this.#pendingTimer = undefined
    if (this.#pendingLoss.size === 0) return
    const next = Math.min(...this.#pendingLoss.values())
    this.#pendingTimer = setTimeout(
      () => {
        this.#pendingTimer = undefined
        const now = Date.now()
        for (const [id, deadline] of [...this.#pendingLoss]) {
          if (deadline > now) continue
          this.#pendingLoss.delete(id)
          this.reportLost(id, 'removed')
        }
        this.#armPendingTimer()
      },
      Math.max(0, next - Date.now()),
    )
  }

  #requireClient(): Etcd3 {
    const client = this.#client
    if (client === undefined) throw new EtcdDiscoveryError('request', 'the backend is stopped')
    return client
  }
}

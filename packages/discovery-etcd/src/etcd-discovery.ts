import {
  type AbortOptions,
  AbstractAnnouncingBackend,
  isNodeId,
  type LocalPeer,
  type PeerRecord,
  raceSignal,
  sameRecord,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  BACKEND_OPTION_KEYS,
  errorMessage,
  warnUnknownOptions,
  withTimeout,
} from '@peer/discovery-core/internal'
import type { Etcd3, IKeyValue, IResponseHeader } from 'etcd3'
import { EtcdConfigError, EtcdDiscoveryError } from './errors.js'
import { createEtcdClient, timedOut } from './etcd-client.js'
import { HealingLoop } from './healing-loop.js'
import { LeaseKeeper } from './lease-keeper.js'
import { decodeNodeValue, encodeNodeValue, nodeKey } from './node-value.js'
import {
  type EtcdDiscoveryCounters,
  type EtcdDiscoveryOptions,
  type EtcdListOptions,
  type ResolvedEtcdOptions,
  resolveEtcdOptions,
  zeroCounters,
} from './options.js'
import { OverwriteGuard } from './overwrite-guard.js'
import { PrefixMirror } from './prefix-mirror.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const ETCD_DISCOVERY_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...BACKEND_OPTION_KEYS,
  'checkInterval',
  'checkIntervalMs',
  'client',
  'endpoints',
  'maxListKeys',
  'maxRetryDelay',
  'maxRetryDelayMs',
  'maxTrackedInvalid',
  'maxValueBytes',
  'prefix',
  'requestTimeout',
  'requestTimeoutMs',
  'resetGrace',
  'resetGraceMs',
  'staleAfterMs',
  'staleLimit',
  'ttl',
])

export type { EtcdDiscoveryCounters, EtcdDiscoveryOptions, EtcdListOptions } from './options.js'

const SOURCE = 'etcd'

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

  readonly #options: ResolvedEtcdOptions

  readonly #counters: EtcdDiscoveryCounters = zeroCounters()

  #client: Etcd3 | undefined
  readonly #mirror: PrefixMirror
  readonly #leases: LeaseKeeper
  /** The id whose key the current lease holds (set by each successful write). */
  #publishedId: string | undefined
  #publishedValue: string | undefined
  #everPublished = false
  readonly #overwrites: OverwriteGuard

  readonly #healing: HealingLoop

  constructor(options: EtcdDiscoveryOptions) {
    super(SOURCE, ['announce', 'list', 'watch', 'expiry'], options)
    warnUnknownOptions('EtcdDiscovery', options, ETCD_DISCOVERY_OPTION_KEYS)
    const o = resolveEtcdOptions(options, this.maxPeers)
    this.#options = o
    this.ttl = o.ttl
    this.prefix = o.prefix
    this.#overwrites = new OverwriteGuard(o.ttl * 1000, this.log)
    this.#healing = new HealingLoop({
      resync: () => this.#mirror.resync(),
      publish: async () => {
        this.#counters.reannounces += this.#everPublished ? 1 : 0
        await this.#publish()
      },
      check: () => this.#mirror.check(),
      announced: () => this.announcement !== undefined,
      reportError: (error) => this.reportError(error),
      maxRetryDelayMs: o.maxRetryDelayMs,
      log: this.log,
    })
    this.#mirror = new PrefixMirror({
      keyPrefix: o.keyPrefix,
      requestTimeoutMs: o.requestTimeoutMs,
      staleLimitMs: o.staleLimitMs,
      resetGraceMs: o.resetGraceMs,
      maxListKeys: o.maxListKeys,
      maxTrackedInvalid: o.maxTrackedInvalid,
      counters: this.#counters,
      client: () => this.#requireClient(),
      decode: (kv) => this.#decode(kv),
      selfId: () => this.selfId,
      stopping: () => this.#healing.stopping,
      active: () => this.active,
      knownPeers: () => this.knownPeers(),
      reportPeer: (record) => this.reportPeer(record),
      reportLost: (id, reason) => this.reportLost(id, reason),
      countInvalid: (detail) => this.countInvalid(detail),
      reportError: (error) => this.reportError(error),
      onReset: () => {
        if (this.announcement !== undefined) this.#healing.needPublish = true
        this.#leases.release()
      },
      onListed: (selfSeen) => {
        if (this.announcement !== undefined && (!selfSeen || this.#leases.current === undefined))
          this.#healing.needPublish = true
      },
      onSelfPut: (record, kv, fromWatch) => this.#onSelfPut(record, kv, fromWatch),
      onSelfDeleted: () => this.#onSelfDeleted(),
      needResync: (kick) => {
        this.#healing.needResync = true
        if (kick) this.#healing.kick()
      },
      log: this.log,
    })
    this.#leases = new LeaseKeeper({
      ttl: this.ttl,
      requestTimeoutMs: this.#options.requestTimeoutMs,
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
    return this.#mirror.resets.revision
  }

  /** True once the prefix was listed, as long as the watch has not lost its connection since. */
  get connected(): boolean {
    return this.started && this.#mirror.connected
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Creates the etcd client and starts the healing loop (and the `checkIntervalMs` check); its first
   * pass lists the prefix, starts the watch and writes an announcement made before `start()`. Waits
   * for that pass to succeed or fail, at most `requestTimeoutMs`: an unreachable etcd does not fail the
   * start, the loop keeps trying in the background. `signal` aborts the wait.
   */
  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    this.#client = createEtcdClient({
      endpoints: this.#options.endpoints,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      maxRetryDelayMs: this.#options.maxRetryDelayMs,
      client: this.#options.client,
    })
    this.#mirror.clear()
    this.#healing.needResync = true
    this.#healing.needPublish = this.announcement !== undefined
    this.#healing.needCheck = false
    const firstPass = this.#healing.begin(this.#options.checkIntervalMs)
    // Wait for the first list, its first failure or requestTimeout, whichever comes first: etcd
    // may come later, the loop keeps trying in the background.
    await withTimeout(firstPass, this.#options.requestTimeoutMs, () => new Error('first list'), signal).catch(
      (error: unknown) => {
        if (signal?.aborted) throw error
      },
    )
  }

  /**
   * Halts the healing loop, cancels the watch and revokes the lease (this node's key goes with it;
   * when etcd does not answer, the key expires after `ttl`), waits for work in progress to end, then
   * closes the etcd client.
   */
  protected async onStop(): Promise<void> {
    this.#healing.halt()
    this.#clearTimers()
    const client = this.#client
    // watchers must be cancelled before the client closes, or the process never exits
    await this.#healing
      .exclusive(async () => {
        this.#mirror.retireWatch()
        const lease = this.#leases.take()
        this.#publishedValue = undefined
        if (lease !== undefined) await this.#leases.revoke(lease)
      })
      .catch((error: unknown) => this.log.debug('stop cleanup failed', { error: errorMessage(error) }))
    await this.#healing.finished()
    // let the cancels finish before the client closes: the watch streams then end cleanly
    await this.#mirror.settled()
    this.#clearTimers() // again: a step that was running may have armed one
    this.#healing.reset()
    this.#client = undefined
    client?.close()
  }

  #clearTimers(): void {
    this.#overwrites.clear()
    this.#healing.clearTimer()
    this.#mirror.clearTimers()
  }

  // ---------------------------------------------------------------- announce / withdraw

  /**
   * Rejects an announcement whose encoded value is above `maxValueBytes` (before anything
   * changes). `announce()` itself comes from `AbstractAnnouncingBackend`: it checks the signal,
   * validates the record and remembers it; before `start()` it is written on start.
   */
  protected override checkAnnouncement(self: LocalPeer): void {
    const bytes = Buffer.byteLength(encodeNodeValue(self))
    if (bytes > this.#options.maxValueBytes) {
      throw new EtcdConfigError(`announcement is ${bytes} bytes, above maxValueBytes`)
    }
  }

  /**
   * Writes this node under `<prefix>/nodes/<id>` with a lease of `ttl` seconds (kept alive), or
   * replaces the announcement. Rejects with {@link EtcdDiscoveryError} when etcd cannot be reached;
   * the announcement is still remembered and written as soon as etcd answers.
   */
  protected async doAnnounce(local: LocalPeer): Promise<void> {
    if (this.#client === undefined || !this.#healing.running) return
    await this.#healing.exclusive(async () => {
      if (this.announcement !== local) return // replaced meanwhile
      this.#healing.needPublish = false
      try {
        await this.#publish()
      } catch (error) {
        this.#healing.needPublish = true
        this.#healing.kick()
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
    this.#healing.needPublish = false
    if (this.#client === undefined) return
    await this.#healing.exclusive(async () => {
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
   * kept while etcd is unreachable, up to `staleAfterMs`). `{ fresh: true }` re-lists the range from
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
      this.#healing.exclusive(async () => {
        try {
          await this.#mirror.resync()
        } catch (error) {
          this.#healing.needResync = true
          this.#healing.kick()
          throw new EtcdDiscoveryError('refresh', errorMessage(error), { cause: error })
        }
      }),
      options.signal,
    )
  }

  // ---------------------------------------------------------------- etcd operations

  async #publish(): Promise<void> {
    const self = this.announcement
    if (self === undefined) return
    const client = this.#requireClient()
    // A new identity: take the old key away with its lease first. Here, not in doAnnounce: the
    // healing loop may publish a new announcement before announce() gets its turn.
    if (this.#publishedId !== undefined && this.#publishedId !== self.id) {
      const old = this.#leases.take()
      this.#publishedId = undefined
      this.#publishedValue = undefined
      // without a lease (lost), the old key expires with it within ttl seconds
      if (old !== undefined) await this.#leases.revoke(old)
    }
    const lease = this.#leases.usable(client)
    const leaseId = await withTimeout(
      lease.grant(),
      this.#options.requestTimeoutMs * 2,
      timedOut('lease grant', this.#options.requestTimeoutMs * 2),
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
    if (this.#healing.stopping) return
    // a lost lease may mean etcd lost its data: re-list too
    this.#healing.needPublish = this.announcement !== undefined
    this.#healing.needResync = true
    this.#healing.kick()
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
    if (header === undefined || !this.#mirror.resets.synced) return
    if (this.#mirror.resets.isReset(header)) {
      if (!this.#healing.needResync)
        this.log.debug('response header shows an etcd reset', { revision: header.revision })
      this.#healing.needResync = true
      this.#healing.kick()
    }
  }

  /** A valid value of our own key was listed or watched. */
  #onSelfPut(record: PeerRecord, kv: IKeyValue, fromWatch: boolean): void {
    if (!fromWatch || this.announcement === undefined || this.#publishedValue === undefined) return
    // someone else overwrote our key (e.g. without our lease): put ours back, at most once per
    // TTL, so that two writers misconfigured with one id do not fight in a hot loop
    if (sameRecord(record, this.announcement) && kv.lease !== '0') return
    this.#overwrites.overwritten(kv.key.toString('utf8'), (delayed) => {
      this.#healing.needPublish = !delayed || this.announcement !== undefined
      this.#healing.kick()
    })
  }

  /** Our key was deleted (by hand, or our lease expired): announce again. */
  #onSelfDeleted(): void {
    if (this.announcement === undefined || this.#publishedValue === undefined) return
    this.log.info('our announcement was deleted: writing it again')
    this.#publishedValue = undefined
    this.#healing.needPublish = true
    this.#healing.kick()
  }

  #decode(kv: IKeyValue) {
    return decodeNodeValue(this.#options.keyPrefix, kv.key.toString('utf8'), kv.value, {
      source: SOURCE,
      maxValueBytes: this.#options.maxValueBytes,
      limits: this.recordLimits,
    })
  }

  #requireClient(): Etcd3 {
    const client = this.#client
    if (client === undefined) throw new EtcdDiscoveryError('request', 'the backend is stopped')
    return client
  }
}

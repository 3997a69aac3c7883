// The mirror of the `<prefix>/nodes/` range: a full list, a diff against the peers known (found,
// updated, lost; a grace period after an etcd reset), then a watch from the listed revision + 1
// whose events keep the mirror current. Tracks the revision (ResetDetector), re-lists when etcd
// cancels or compacts the watch or it reconnects, counts each invalid value once, and keeps the
// last known peers for `staleLimitMs` while etcd is unreachable. The peer records themselves live
// in the backend (reportPeer/reportLost); this node's own key goes to `onSelfPut`/`onSelfDeleted`.
import type { PeerLostReason, PeerRecord } from '@peer/discovery-core'
import { BoundedMap, errorMessage } from '@peer/discovery-core/internal'
import type { Etcd3, IKeyValue, IWatchResponse } from 'etcd3'
import { EtcdDiscoveryError } from './errors.js'
import { EtcdWatch } from './etcd-watch.js'
import { type DecodeResult, idFromKey } from './node-value.js'
import { ResetDetector } from './reset-detector.js'

/** Counters the mirror adds to (the backend's `etcdStats`). */
export interface MirrorCounters {
  requests: number
  watchEvents: number
  resyncs: number
  resets: number
  watchCancels: number
  staleDrops: number
}

/** What the mirror needs from the backend. */
export interface PrefixMirrorHost {
  /** `<prefix>/nodes/` */
  readonly keyPrefix: string
  readonly requestTimeoutMs: number
  /** How long the last known peers are kept while etcd is unreachable (may be `Infinity`). */
  readonly staleLimitMs: number
  /** After a reset, how long missing peers get to re-announce before they are lost (0: at once). */
  readonly resetGraceMs: number
  readonly maxListKeys: number
  readonly maxTrackedInvalid: number
  readonly counters: MirrorCounters
  /** The etcd client; throws when the backend is stopped. */
  client(): Etcd3
  decode(kv: IKeyValue): DecodeResult
  selfId(): string | undefined
  /** Whether the backend is stopping or stopped (no new timers then). */
  stopping(): boolean
  /** Whether the backend is started and not stopping. */
  active(): boolean
  knownPeers(): Iterable<PeerRecord>
  reportPeer(record: PeerRecord): void
  reportLost(id: string, reason: PeerLostReason): void
  countInvalid(detail: string): void
  reportError(error: EtcdDiscoveryError): void
  /** A list found etcd reset (before the mirror takes the new revision). */
  onReset(): void
  /** A list was applied (before the watch starts): whether this node's own key was in it. */
  onListed(selfSeen: boolean): void
  /** A valid value of this node's own key; `fromWatch` false while listing. */
  onSelfPut(record: PeerRecord, kv: IKeyValue, fromWatch: boolean): void
  /** This node's own key was deleted (watch). */
  onSelfDeleted(): void
  /** The mirror needs a re-list; `kick` wakes the healing loop now. */
  needResync(kick: boolean): void
  log: {
    debug(message: string, fields?: Record<string, unknown>): void
    info(message: string, fields?: Record<string, unknown>): void
    warn(message: string, fields?: Record<string, unknown>): void
  }
}

/** The list + watch of the peer prefix (explicit state: `resets`, `connected`, the current watch). */
export class PrefixMirror {
  /** Revision and cluster id seen: tells when etcd went back in time. */
  readonly resets = new ResetDetector()
  readonly #host: PrefixMirrorHost
  #watch: EtcdWatch | undefined
  /** Cancels of retired watches still in flight (each bounded by `requestTimeoutMs`). */
  readonly #retiring = new Set<Promise<void>>()
  #disconnected = false
  #staleTimer: NodeJS.Timeout | undefined
  readonly #pendingLoss = new Map<string, number>()
  #pendingTimer: NodeJS.Timeout | undefined
  readonly #invalidSeen: BoundedMap<string, string>

  constructor(host: PrefixMirrorHost) {
    this.#host = host
    this.#invalidSeen = new BoundedMap(host.maxTrackedInvalid)
  }

  /** Listed at least once since {@link clear}, and the watch has not lost its connection since. */
  get connected(): boolean {
    return this.resets.synced && !this.#disconnected
  }

  /** Forgets the revision, the connection state and the invalid keys seen (a new start). */
  clear(): void {
    this.resets.clear()
    this.#disconnected = false
    this.#invalidSeen.clear()
  }

  /** Stops the stale and reset-grace timers (pending losses are forgotten). */
  clearTimers(): void {
    this.#clearStale()
    clearTimeout(this.#pendingTimer)
    this.#pendingTimer = undefined
    this.#pendingLoss.clear()
  }

  /** Resolves once the cancels of retired watches are done (each is bounded). */
  async settled(): Promise<void> {
    await Promise.all([...this.#retiring])
  }

  /** Lists the prefix, diffs it against the known peers and (re)starts the watch at revision + 1. */
  async resync(): Promise<void> {
    const host = this.#host
    const client = host.client()
    host.counters.requests++
    const res = await client.getAll().prefix(host.keyPrefix).limit(host.maxListKeys).exec()
    host.counters.resyncs++
    const reset = this.resets.isReset(res.header)
    if (reset) {
      host.counters.resets++
      host.log.warn('etcd was reset (revision went backwards or cluster id changed): resyncing', {
        known: this.resets.revision,
        now: res.header.revision,
      })
      // our lease is gone with the old data (the host grants a new one)
      host.onReset()
      this.#invalidSeen.clear() // revisions start again: the same numbers mean other writes
    }
    this.resets.listed(res.header)
    if (res.more)
      host.log.warn('prefix holds more keys than maxListKeys; some are ignored', { max: host.maxListKeys })

    const present = new Set<string>()
    const selfId = host.selfId()
    let selfSeen = false
    for (const kv of res.kvs) {
      const id = this.#applyPut(kv, false)
      if (id !== undefined) present.add(id)
      if (id !== undefined && id === selfId) selfSeen = true
    }
    for (const record of [...host.knownPeers()]) {
      if (present.has(record.id)) continue
      if (reset && host.resetGraceMs > 0) this.#scheduleLoss(record.id)
      else if (!this.#pendingLoss.has(record.id)) host.reportLost(record.id, 'removed')
    }
    host.onListed(selfSeen)
    this.resets.markSynced()
    await this.#rewatch(this.resets.revision + 1)
    this.#markConnected()
  }

  /** One cheap range: is etcd still the store being mirrored? True when it was reset. */
  async check(): Promise<boolean> {
    const host = this.#host
    const client = host.client()
    host.counters.requests++
    const res = await client.getAll().prefix(host.keyPrefix).limit(1).exec()
    return this.resets.isReset(res.header)
  }

  /** Takes the current watch out of service; its cancel completes in the background. */
  retireWatch(): void {
    const watch = this.#watch
    this.#watch = undefined
    if (watch === undefined) return
    const done = watch.retire(this.#host.requestTimeoutMs)
    this.#retiring.add(done)
    void done.then(() => this.#retiring.delete(done))
  }

  // ---------------------------------------------------------------- the watch

  async #rewatch(startRevision: number): Promise<void> {
    // the old watch is cancelled in the background: it stays known to etcd3 until etcd confirmed
    // the cancel (see EtcdWatch), and reports nothing more from now on
    this.retireWatch()
    const host = this.#host
    const client = host.client()
    host.counters.requests++
    const watch = new EtcdWatch(client, host.keyPrefix, startRevision, {
      events: (res) => this.#onWatchEvents(res),
      reconnected: (res) => {
        // a reconnection: did etcd go back in time (restarted with an empty data dir)? In any case
        // re-list: a silent watch on a reset etcd would never deliver anything again.
        host.log.debug('watch reconnected', { revision: res.header.revision })
        this.#markConnected()
        host.needResync(true)
      },
      disconnected: (error) => this.#markDisconnected(error),
      cancelled: (error) => {
        // etcd cancelled the watch (e.g. its start revision was compacted): re-list and watch again
        if (this.#watch !== watch) return
        host.counters.watchCancels++
        host.log.info('watch cancelled by etcd: resyncing', { error: errorMessage(error) })
        this.retireWatch()
        host.needResync(true)
      },
      failed: (error) =>
        host.reportError(new EtcdDiscoveryError('watch', errorMessage(error), { cause: error })),
    })
    this.#watch = watch
    try {
      await watch.ready(host.requestTimeoutMs)
    } catch (error) {
      if (this.#watch === watch) this.retireWatch()
      throw error
    }
  }

  #onWatchEvents(res: IWatchResponse): void {
    for (const event of res.events) {
      this.#host.counters.watchEvents++
      // an old watch may still deliver events the latest list already contains: skip them, or
      // a put older than that list could bring back a peer the list knows is gone
      if (Number(event.kv.mod_revision) <= this.resets.listRevision) continue
      if (event.type === 'Put') this.#applyPut(event.kv, true)
      else this.#applyDelete(event.kv)
    }
    this.resets.advance(Number(res.header.revision))
  }

  #markDisconnected(error: unknown): void {
    const host = this.#host
    if (host.stopping()) return
    if (!this.#disconnected) {
      this.#disconnected = true
      host.log.info('etcd unreachable: keeping the last known peers', {
        staleAfterMs: host.staleLimitMs,
        error: errorMessage(error),
      })
    }
    if (this.#staleTimer === undefined && Number.isFinite(host.staleLimitMs)) {
      this.#staleTimer = setTimeout(() => {
        this.#staleTimer = undefined
        if (!this.#disconnected || !host.active()) return
        const peers = [...host.knownPeers()]
        host.log.warn('etcd unreachable for longer than staleAfterMs: dropping peers', {
          count: peers.length,
        })
        host.counters.staleDrops += peers.length
        for (const record of peers) host.reportLost(record.id, 'stale')
        this.#pendingLoss.clear()
        host.needResync(false)
      }, host.staleLimitMs)
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

  /** Applies a key's value; returns the node id when it is a valid node. */
  #applyPut(kv: IKeyValue, fromWatch: boolean): string | undefined {
    const host = this.#host
    const key = kv.key.toString('utf8')
    const decoded = host.decode(kv)
    if (!decoded.ok) {
      this.#countInvalidOnce(key, kv.mod_revision, decoded.reason)
      // a known peer whose value turned bad is no longer what etcd says
      const id = idFromKey(host.keyPrefix, key)
      if (id !== undefined) {
        this.#pendingLoss.delete(id)
        host.reportLost(id, 'removed')
      }
      return undefined
    }
    this.#invalidSeen.delete(key)
    const record = decoded.record
    if (record.id === host.selfId()) {
      host.onSelfPut(record, kv, fromWatch)
      return record.id
    }
    this.#pendingLoss.delete(record.id)
    host.reportPeer(record)
    return record.id
  }

  #applyDelete(kv: IKeyValue): void {
    const host = this.#host
    const key = kv.key.toString('utf8')
    this.#invalidSeen.delete(key)
    const id = idFromKey(host.keyPrefix, key)
    if (id === undefined) return
    if (id === host.selfId()) {
      host.onSelfDeleted()
      return
    }
    this.#pendingLoss.delete(id)
    host.reportLost(id, 'removed')
  }

  #countInvalidOnce(key: string, modRevision: string, reason: string): void {
    if (this.#invalidSeen.get(key) === modRevision) return
    this.#invalidSeen.set(key, modRevision)
    this.#host.countInvalid(`${key.slice(0, 120)}: ${reason}`)
  }

  #scheduleLoss(id: string): void {
    if (this.#pendingLoss.has(id) || this.#host.stopping()) return
    this.#pendingLoss.set(id, Date.now() + this.#host.resetGraceMs)
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
          this.#host.reportLost(id, 'removed')
        }
        this.#armPendingTimer()
      },
      Math.max(0, next - Date.now()),
    )
  }
}

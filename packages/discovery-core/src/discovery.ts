import { type AbortOptions, abortErrorFor, linkSignals, raceSignal, throwIfAborted } from './abort.js'
import { backendShapeProblems, callBackend, lookupAnswer } from './backend-calls.js'
import { subscribeBackend } from './backend-events.js'
import { type BackendErrorInfo, BackendHealth } from './backend-health.js'
import { quote } from './describe-value.js'
import type {
  DiscoveryBackend,
  DiscoveryCapability,
  DiscoveryEvents,
  DiscoveryStats,
  PeerLostReason,
} from './discovery-backend.js'
import { AbortError, AllBackendsFailedError, ConfigError, errorMessage, toError } from './errors.js'
import { componentLogger, INHERIT_LOGGER, type Logger, type LoggerFactory } from './logger.js'
import { type MergedPeerRecord, mergeRecords } from './merge-records.js'
import { isNodeId } from './node-id.js'
import { warnUnknownOptions } from './option-keys.js'
import { numberOption, renamedOption } from './options.js'
import { type LocalPeer, type PeerRecord, sameRecord, validateLocalPeer } from './peer-record.js'
import { SerialLock } from './serial-lock.js'
import { TypedEventTarget } from './typed-event-target.js'

export type { MergedPeerRecord } from './merge-records.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const DISCOVERY_OPTION_KEYS: ReadonlySet<string> = new Set([
  'backends',
  'logger',
  'lookupTimeout',
  'lookupTimeoutMs',
  'lostHysteresis',
  'lostHysteresisMs',
  'maxPeers',
  'self',
])

/** A backend that can borrow a logger (see `AbstractDiscoveryBackend`). */
interface LendsLogger {
  [INHERIT_LOGGER](factory: LoggerFactory): void
}

/** Options of {@link Discovery}. */
export interface DiscoveryOptions {
  /** The backends, highest priority first: at least one, with unique sources (else `ConfigError`). */
  backends: readonly DiscoveryBackend[]
  /**
   * How long (ms) a peer that every source has lost is kept before `peer:lost` is emitted. A peer
   * that comes back within the window produces no event at all. Default 2000; 0 disables.
   */
  lostHysteresisMs?: number
  /**
   * Same as `lostHysteresisMs` (ms); using it emits a one-time `DeprecationWarning`.
   * @deprecated Use `lostHysteresisMs` (same unit); accepted until the next minor version.
   */
  lostHysteresis?: number
  /** Most peers tracked; further discoveries are dropped and counted. Default 10,000. */
  maxPeers?: number
  /** Time limit (ms) for one backend's `lookup` before falling back to the next. Default 5000. */
  lookupTimeoutMs?: number
  /**
   * Same as `lookupTimeoutMs` (ms); using it emits a one-time `DeprecationWarning`.
   * @deprecated Use `lookupTimeoutMs` (same unit); accepted until the next minor version.
   */
  lookupTimeout?: number
  /** This node's id: never reported. `announce(self)` sets it too. */
  self?: string
  /** Logger factory; silent by default. */
  logger?: LoggerFactory
}

interface Entry {
  readonly bySource: Map<string, PeerRecord>
  merged: MergedPeerRecord
  lostTimer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Aggregate counters: the backend counters (summed; the optional ones count 0 for a backend
 * without them) plus what the aggregate itself did.
 */
export interface AggregateStats extends Required<DiscoveryStats> {
  /** Losses cancelled because the peer came back within the hysteresis window. */
  flapsSuppressed: number
}

/**
 * Runs several discovery backends as one. Records are merged by node id with provenance;
 * `peer:discovered` fires when the first source sees a peer and `peer:lost` only when the last
 * source has lost it and the hysteresis window passed without it coming back. `lookup` asks the
 * backends in priority order and falls back to the next on a miss or an error. A backend that
 * fails is reported (`discovery:error`) and isolated: its failure never turns into `peer:lost`.
 *
 * @example
 * ```ts
 * const discovery = new Discovery({ backends: [staticBackend, mdnsBackend], lostHysteresisMs: 3000 })
 * discovery.addEventListener('peer:discovered', (e) => console.log('up', e.detail.record.id))
 * await discovery.start()
 * ```
 */
export class Discovery extends TypedEventTarget<DiscoveryEvents> implements DiscoveryBackend {
  /**
   * The aggregate's own label, always `discovery`. Its events carry the `source` of the backend
   * that caused them, and a merged record's `source` is its first source.
   */
  readonly source = 'discovery'
  /** `list` plus every capability of any of the backends. */
  readonly capabilities: ReadonlySet<DiscoveryCapability>
  /** The backends given in the options (a copy), highest priority first. */
  readonly backends: readonly DiscoveryBackend[]

  readonly #log: Logger
  readonly #hysteresis: number
  readonly #maxPeers: number
  readonly #lookupTimeout: number
  readonly #priority = new Map<string, number>()
  readonly #peers = new Map<string, Entry>()
  readonly #stats = { invalidRecords: 0, overflowDrops: 0, errors: 0, flapsSuppressed: 0 }
  readonly #unsubscribe: Array<() => void> = []
  /** The last error of each backend since the last start (one entry per backend at most). */
  readonly #health = new BackendHealth()
  /** Backends (not on the base class) already warned about for an invalid record, this start. */
  readonly #warnedInvalid = new Set<string>()
  #self: string | undefined
  #state: 'stopped' | 'starting' | 'started' | 'stopping' = 'stopped'
  #wantStarted = false
  readonly #transitions = new SerialLock()

  constructor(options: DiscoveryOptions) {
    super()
    warnUnknownOptions('Discovery', options, DISCOVERY_OPTION_KEYS)
    if (options.backends.length === 0)
      throw new ConfigError('Discovery needs at least one backend', { option: 'backends' })
    this.backends = [...options.backends]
    this.backends.forEach((b, i) => {
      const problems = backendShapeProblems(b)
      if (problems.length > 0)
        throw new ConfigError(
          `Discovery: backends[${i}] is not a discovery backend: ${problems.join(', ')}`,
          {
            option: `backends[${i}]`,
          },
        )
      if (this.#priority.has(b.source))
        throw new ConfigError(`two backends share the source ${quote(b.source)}`, {
          option: 'backends',
        })
      this.#priority.set(b.source, i)
    })
    const caps = new Set<DiscoveryCapability>(['list'])
    for (const b of this.backends) for (const c of b.capabilities) caps.add(c)
    this.capabilities = caps
    const owner = 'Discovery'
    this.#hysteresis = numberOption(
      renamedOption(options, { current: 'lostHysteresisMs', deprecated: 'lostHysteresis', owner }),
      'lostHysteresisMs',
      2000,
      { min: 0 },
    )
    this.#maxPeers = numberOption(options.maxPeers, 'maxPeers', 10_000, { integer: true, min: 1 })
    this.#lookupTimeout = numberOption(
      renamedOption(options, { current: 'lookupTimeoutMs', deprecated: 'lookupTimeout', owner }),
      'lookupTimeoutMs',
      5000,
      { min: 0, exclusiveMin: true },
    )
    this.#self = options.self
    this.#log = componentLogger(options.logger, 'peer:discovery')
    // backends made without a logger log through ours (a node's `logger` reaches them this way)
    if (options.logger !== undefined) {
      for (const b of this.backends) (b as Partial<LendsLogger>)[INHERIT_LOGGER]?.(options.logger)
    }
    this.onListenerError = (error, type) =>
      this.#log.warn('event listener threw', { type, error: errorMessage(error) })
  }

  /** True between a successful `start()` (at least one backend started) and the next `stop()`. */
  get started(): boolean {
    return this.#state === 'started'
  }

  /**
   * The counters, a fresh snapshot on every read: `invalidRecords`, `overflowDrops`,
   * `listenerErrors`, `droppedServiceNames` and `droppedServiceLists` are the aggregate's own plus
   * every backend's; `errors` and `flapsSuppressed` are the aggregate's own (`errors` counts every
   * failure it reported, backend `discovery:error` events included).
   */
  get stats(): Readonly<AggregateStats> {
    const s = {
      ...this.#stats,
      listenerErrors: this.listenerErrors,
      droppedServiceNames: 0,
      droppedServiceLists: 0,
    }
    const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? n : 0)
    for (const b of this.backends) {
      let bs: Partial<DiscoveryStats> | undefined
      try {
        bs = b.stats // a user's backend may have a getter that throws: its counters count as 0
      } catch {
        continue
      }
      s.invalidRecords += count(bs?.invalidRecords)
      s.overflowDrops += count(bs?.overflowDrops)
      s.listenerErrors += count(bs?.listenerErrors)
      s.droppedServiceNames += count(bs?.droppedServiceNames)
      s.droppedServiceLists += count(bs?.droppedServiceLists)
    }
    return s
  }

  /**
   * The last error each backend reported since the last `start()` (a failed start, a
   * `discovery:error`), oldest first: one entry per backend at most, kept after the backend
   * recovers (`at` says when it failed, `recoveredAt` when it first worked again: a valid record,
   * an answered `lookup`, `announce` or `withdraw`). What "nobody was discovered" may come from.
   */
  lastErrors(): readonly BackendErrorInfo[] {
    return this.#health.list()
  }

  /** Number of peers tracked, including those waiting out the hysteresis window. */
  get size(): number {
    return this.#peers.size
  }

  /**
   * Starts every backend. A backend that fails to start is reported with `discovery:error` and
   * left out; the start fails only when every backend failed (`AllBackendsFailedError`).
   */
  async start(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#wantStarted = true
    await this.#serialise(async () => {
      if (this.#state === 'started') return
      this.#state = 'starting'
      this.#health.clear()
      this.#warnedInvalid.clear()
      for (const backend of this.backends) this.#subscribe(backend)
      const results = await Promise.allSettled(this.backends.map((b) => callBackend(() => b.start(options))))
      const failures = this.#failures(results)
      if (options.signal?.aborted || failures.length === this.backends.length) {
        this.#state = 'stopping'
        await this.#teardown()
        if (options.signal?.aborted) throw abortErrorFor(options.signal)
        throw new AllBackendsFailedError('start', failures)
      }
      for (const f of failures) this.#reportError(f.source, f.error)
      this.#state = 'started'
    }, options.signal)
  }

  /**
   * Stops every backend and forgets every peer, without `peer:lost` events (losses waiting out the
   * hysteresis window are dropped). A backend that fails to stop is logged, not thrown.
   * Idempotent, and a no-op before `start()`. A `start()` still in progress is not cancelled (unlike
   * `AbstractDiscoveryBackend.stop()`): `stop()` waits for it to settle, then stops everything it
   * started. To give up on a slow start, abort the signal passed to `start()`.
   */
  async stop(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#wantStarted = false
    await this.#serialise(async () => {
      if (this.#state === 'stopped') return
      this.#state = 'stopping'
      await this.#teardown()
    }, options.signal)
  }

  /** Stops the aggregate and its backends, as `stop()` does; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /**
   * Announces this node on every backend that can (capability `announce`). Rejects with
   * `InvalidPeerRecordError` for an invalid record, and with {@link AllBackendsFailedError} when
   * every such backend failed; a failure of some is reported with `discovery:error`.
   */
  async announce(self: LocalPeer, options: AbortOptions = {}): Promise<void> {
    const peer = validateLocalPeer(self)
    this.#self = peer.id
    this.#forget(peer.id)
    await this.#onEveryAnnouncer('announce', (b) => b.announce!(peer, options), options.signal)
  }

  /**
   * Withdraws this node's announcement from every backend that can. Rejects with
   * {@link AllBackendsFailedError} when every such backend failed, as `announce` does.
   */
  async withdraw(options: AbortOptions = {}): Promise<void> {
    await this.#onEveryAnnouncer('withdraw', (b) => b.withdraw!(options), options.signal)
  }

  /**
   * Finds a peer by id or name: asks each started backend in priority order, falling back to the
   * next on a miss, an error or a timeout; then answers from the merged view. Rejects with
   * {@link AllBackendsFailedError} only when every backend failed and nothing is known.
   */
  async lookup(nameOrId: string, options: AbortOptions = {}): Promise<PeerRecord | undefined> {
    throwIfAborted(options.signal)
    const failures: Array<{ source: string; error: unknown }> = []
    let asked = 0
    for (const backend of this.backends) {
      if (!backend.started) continue
      asked++
      const linked = linkSignals([options.signal], this.#lookupTimeout)
      const signal = linked.signal
      try {
        const answer = await raceSignal(
          callBackend(() => backend.lookup(nameOrId, { signal })),
          signal,
        )
        this.#health.worked(backend.source)
        const found = this.#lookupAnswer(answer, backend)
        if (found !== undefined && found.id !== this.#self) return found
      } catch (error) {
        if (options.signal?.aborted) throw abortErrorFor(options.signal)
        const err = linked.timedOut
          ? new AbortError(`lookup timed out after ${this.#lookupTimeout} ms`, { cause: error })
          : error
        failures.push({ source: backend.source, error: err })
        this.#reportError(backend.source, err)
      } finally {
        linked.release()
      }
    }
    const known = this.#find(nameOrId)
    if (known !== undefined) return known
    if (asked > 0 && failures.length === asked) throw new AllBackendsFailedError('lookup', failures)
    return undefined
  }

  /** Every peer currently known, merged across sources. */
  async list(options: AbortOptions = {}): Promise<MergedPeerRecord[]> {
    throwIfAborted(options.signal)
    return this.snapshot()
  }

  /** What `list()` resolves with, synchronously (for a caller that cannot wait, e.g. a status reply). */
  snapshot(): MergedPeerRecord[] {
    return [...this.#peers.values()].filter((e) => e.lostTimer === undefined).map((e) => e.merged)
  }

  /** The merged record of one peer, synchronously, from what the backends reported. */
  get(id: string): MergedPeerRecord | undefined {
    const entry = this.#peers.get(id)
    return entry?.lostTimer === undefined ? entry?.merged : undefined
  }

  #subscribe(backend: DiscoveryBackend): void {
    this.#unsubscribe.push(
      subscribeBackend(backend, {
        found: (record, source) => this.#onFound(record, source),
        lost: (id, source, reason) => this.#onLost(id, source, reason),
        failed: (source, error) => this.#reportError(source, error),
        invalid: (source, error) => this.#onInvalid(source, error),
      }),
    )
  }

  #onInvalid(source: string, error: unknown): void {
    this.#stats.invalidRecords++
    this.#log.debug('dropped an invalid record of a backend', { source, error: errorMessage(error) })
    if (this.#warnedInvalid.has(source)) return
    this.#warnedInvalid.add(source)
    this.#log.warn('a backend reported an invalid record (dropped, counted in stats.invalidRecords)', {
      source,
      error: errorMessage(error),
    })
  }

  /** A backend's `lookup` answer, or `undefined` for a miss or an invalid record (counted). */
  #lookupAnswer(answer: unknown, backend: DiscoveryBackend): PeerRecord | undefined {
    try {
      return lookupAnswer(answer, backend)
    } catch (error) {
      this.#onInvalid(backend.source, error)
      return undefined
    }
  }

  #active(): boolean {
    return this.#wantStarted && (this.#state === 'started' || this.#state === 'starting')
  }

  #onFound(record: PeerRecord, source: string): void {
    if (!this.#active()) return
    this.#health.worked(source)
    if (record.id === this.#self) return
    const entry = this.#peers.get(record.id)
    if (entry === undefined) {
      if (this.#peers.size >= this.#maxPeers) {
        this.#stats.overflowDrops++
        this.#log.warn('peer map full: dropped a discovery', { maxPeers: this.#maxPeers, source })
        return
      }
      const bySource = new Map([[source, record]])
      const created: Entry = {
        bySource,
        merged: mergeRecords(bySource, this.#priority),
        lostTimer: undefined,
      }
      this.#peers.set(record.id, created)
      this.emit('peer:discovered', { record: created.merged, source })
      return
    }
    entry.bySource.set(source, record)
    const wasLeaving = entry.lostTimer !== undefined
    if (wasLeaving) {
      clearTimeout(entry.lostTimer)
      entry.lostTimer = undefined
      this.#stats.flapsSuppressed++
    }
    this.#remerge(entry, source)
  }

  #onLost(id: string, source: string, reason: PeerLostReason): void {
    if (!this.#active()) return
    const entry = this.#peers.get(id)
    if (entry === undefined || !entry.bySource.delete(source)) return
    if (entry.bySource.size > 0) {
      this.#remerge(entry, source)
      return
    }
    if (this.#hysteresis <= 0) {
      this.#peers.delete(id)
      this.emit('peer:lost', { record: entry.merged, source, reason })
      return
    }
    entry.lostTimer = setTimeout(() => {
      entry.lostTimer = undefined
      if (entry.bySource.size > 0 || this.#peers.get(id) !== entry) return
      this.#peers.delete(id)
      if (this.#active()) this.emit('peer:lost', { record: entry.merged, source, reason })
    }, this.#hysteresis)
  }

  #remerge(entry: Entry, source: string): void {
    const merged = mergeRecords(entry.bySource, this.#priority)
    const changed = !sameRecord(merged, entry.merged) || merged.sources.join() !== entry.merged.sources.join()
    entry.merged = merged
    if (changed) this.emit('peer:updated', { record: merged, source })
  }

  #find(nameOrId: string): MergedPeerRecord | undefined {
    if (isNodeId(nameOrId)) return this.get(nameOrId)
    for (const e of this.#peers.values())
      if (e.lostTimer === undefined && e.merged.name === nameOrId) return e.merged
    return undefined
  }

  #forget(id: string): void {
    const entry = this.#peers.get(id)
    if (entry?.lostTimer !== undefined) clearTimeout(entry.lostTimer)
    this.#peers.delete(id)
  }

  #reportError(source: string, error: unknown): void {
    this.#stats.errors++
    const err = toError(error)
    this.#health.failed(source, err)
    this.#log.warn('backend error', { source, error: err.message })
    if (this.#active()) this.emit('discovery:error', { error: err, source })
  }

  #failures(results: PromiseSettledResult<unknown>[], backends = this.backends) {
    const failures: Array<{ source: string; error: unknown }> = []
    results.forEach((r, i) => {
      if (r.status === 'rejected') failures.push({ source: backends[i]!.source, error: r.reason })
    })
    return failures
  }

  async #onEveryAnnouncer(
    operation: 'announce' | 'withdraw',
    call: (backend: DiscoveryBackend) => Promise<void>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    throwIfAborted(signal)
    const targets = this.backends.filter(
      (b) => b.capabilities.has('announce') && typeof b[operation] === 'function',
    )
    // with no publishing backend, announcing still sets the id that is filtered out of events
    if (targets.length === 0) return
    const results = await Promise.allSettled(targets.map((b) => callBackend(() => call(b))))
    throwIfAborted(signal)
    const failures = this.#failures(results, targets)
    for (const [i, r] of results.entries())
      if (r.status === 'fulfilled') this.#health.worked(targets[i]!.source)
    if (failures.length === targets.length) throw new AllBackendsFailedError(operation, failures)
    for (const f of failures) this.#reportError(f.source, f.error)
  }

  async #teardown(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off()
    for (const entry of this.#peers.values()) if (entry.lostTimer !== undefined) clearTimeout(entry.lostTimer)
    this.#peers.clear()
    const results = await Promise.allSettled(this.backends.map((b) => callBackend(() => b.stop())))
    for (const f of this.#failures(results))
      this.#log.warn('backend failed to stop', { source: f.source, error: errorMessage(f.error) })
    this.#state = 'stopped'
  }

  #serialise(fn: () => Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    return this.#transitions.run(fn, signal)
  }
}

import { type AbortOptions, abortErrorFor, raceSignal, throwIfAborted } from './abort.js'
import { VALIDATES_RECORDS } from './backend-events.js'
import type {
  DiscoveryBackend,
  DiscoveryCapability,
  DiscoveryEvents,
  DiscoveryStats,
  PeerLostReason,
} from './discovery-backend.js'
import { errorMessage, toError } from './errors.js'
import { INHERIT_LOGGER, inheritableLogger, type Logger, type LoggerFactory } from './logger.js'
import { isNodeId } from './node-id.js'
import { numberOption } from './options.js'
import { type PeerRecord, type PeerRecordLimits, parsePeerRecord, sameRecord } from './peer-record.js'
import { SerialLock } from './serial-lock.js'
import { type CheckedServiceInput, checkServiceInput } from './service-list.js'
import { TypedEventTarget } from './typed-event-target.js'

/** Options every backend built on {@link AbstractDiscoveryBackend} accepts. */
export interface BackendOptions {
  /** This node's id: never reported as a peer. `announce(self)` sets it too. */
  self?: string | undefined
  /**
   * Logger factory. Without one, the backend logs through the `logger` of the `Discovery` (or
   * node) it runs in, when that was given one; otherwise `defaultLogger` (silent unless `PEER_DEBUG`).
   */
  logger?: LoggerFactory | undefined
  /** Most peers kept; further discoveries are dropped and counted. Default 10,000. */
  maxPeers?: number | undefined
  /** Limits applied when validating records. */
  recordLimits?: Partial<PeerRecordLimits> | undefined
}

type State = 'stopped' | 'starting' | 'started' | 'stopping'

/**
 * A base class that makes the behaviour's rules hold for you: idempotent, serialised
 * `start`/`stop`; no events outside `start`..`stop`; validation and counted drops; self filtering;
 * one `peer:discovered` per peer until it is lost; a bounded peer map; `lookup`/`list` answered
 * from what was reported; aborts that reject with `AbortError`.
 *
 * Subclasses implement {@link onStart} and {@link onStop} and call {@link reportPeer},
 * {@link reportLost} and {@link reportError}.
 *
 * @example
 * ```ts
 * class MyBackend extends AbstractDiscoveryBackend {
 *   constructor() { super('mine', ['list', 'watch']) }
 *   protected async onStart() { this.reportPeer({ id, addresses: [{ host: '127.0.0.1', port: 4000 }] }) }
 *   protected async onStop() {}
 * }
 * ```
 */
export abstract class AbstractDiscoveryBackend
  extends TypedEventTarget<DiscoveryEvents>
  implements DiscoveryBackend
{
  /** Source label given to the constructor, put on every record and event this backend reports. */
  readonly source: string
  /** What this backend can do: the capabilities given to the constructor. */
  readonly capabilities: ReadonlySet<DiscoveryCapability>
  /**
   * The backend's logger (namespace `peer:discovery:<source>`), made by the `logger` option (silent
   * by default) and guarded like every component's (`safeLogger`), so it never throws.
   */
  protected readonly log: Logger
  /**
   * Most peers kept (option `maxPeers`, default 10,000): {@link reportPeer} drops further new
   * peers and counts them in `stats.overflowDrops`.
   */
  protected readonly maxPeers: number
  /**
   * Limits {@link reportPeer} validates records with (option `recordLimits`); a limit left out
   * takes its value from `DEFAULT_RECORD_LIMITS`.
   */
  protected readonly recordLimits: Partial<PeerRecordLimits>

  readonly #stats = {
    invalidRecords: 0,
    overflowDrops: 0,
    errors: 0,
    droppedServiceNames: 0,
    droppedServiceLists: 0,
  }
  readonly #peers = new Map<string, PeerRecord>()
  /** Peer id -> the raw service list whose drops were counted last (each distinct list once). */
  readonly #serviceDrops = new Map<string, unknown>()
  #self: string | undefined
  /** Whether a valid record (not this node's) was reported since the last start. */
  #acceptedAny = false
  /** Whether this start has warned of invalid records with no valid one beside them. */
  #warnedInvalid = false
  #state: State = 'stopped'
  #wantStarted = false
  #startAbort: AbortController | undefined
  readonly #transitions = new SerialLock()
  readonly #inheritLogger: (factory: LoggerFactory) => void

  constructor(source: string, capabilities: Iterable<DiscoveryCapability>, options: BackendOptions = {}) {
    super()
    this.source = source
    this.capabilities = new Set(capabilities)
    const log = inheritableLogger(`peer:discovery:${source}`, options.logger)
    this.log = log.logger
    this.#inheritLogger = log.inherit
    this.maxPeers = numberOption(options.maxPeers, 'maxPeers', 10_000, { integer: true, min: 1 })
    this.recordLimits = options.recordLimits ?? {}
    this.#self = options.self
    this.onListenerError = (error, type) =>
      this.log.warn('event listener threw', { type, error: errorMessage(error) })
  }

  /**
   * Lends this backend `factory` when it was made without a `logger` (the `Discovery` it runs in
   * does, with its own). @internal
   */
  [INHERIT_LOGGER](factory: LoggerFactory): void {
    this.#inheritLogger(factory)
  }

  /** Its events carry only records it validated (see `reportPeer`). @internal */
  readonly [VALIDATES_RECORDS] = true

  /** True between a successful `start()` and the next `stop()`. */
  get started(): boolean {
    return this.#state === 'started'
  }

  /** True from `start()` until `stop()` is called: the window in which events may be emitted. */
  protected get active(): boolean {
    return this.#wantStarted && (this.#state === 'started' || this.#state === 'starting')
  }

  /** The backend's counters (a fresh snapshot on every read), `listenerErrors` included. */
  get stats(): Readonly<Required<DiscoveryStats>> {
    return { ...this.#stats, listenerErrors: this.listenerErrors }
  }

  /** This node's id, if known. */
  protected get selfId(): string | undefined {
    return this.#self
  }

  /**
   * Resolves once no `start()`/`stop()` is in progress (the lifecycle transitions queued so far
   * have settled, successfully or not). Never rejects.
   */
  protected settled(): Promise<void> {
    return this.#transitions.idle()
  }

  /** Sets this node's id; a peer already reported under it is forgotten silently. */
  protected setSelfId(id: string | undefined): void {
    this.#self = id
    if (id !== undefined) this.#forget(id)
  }

  /**
   * Starts the backend: runs {@link onStart} (calls are serialised; starting a started backend
   * does nothing). When `onStart` fails, `signal` aborts or `stop()` is called meanwhile, {@link onStop}
   * cleans up and the call rejects: with `onStart`'s error, or with an `AbortError` for an abort.
   * A `start()` still queued behind another transition when `stop()` is called resolves without
   * starting.
   */
  async start(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#wantStarted = true
    await this.#serialise(async () => {
      if (this.#state === 'started' || !this.#wantStarted) return
      this.#state = 'starting'
      this.#acceptedAny = false
      this.#warnedInvalid = false
      const internal = new AbortController()
      this.#startAbort = internal
      const signal = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal
      const starting = this.onStart(signal)
      try {
        await raceSignal(starting, signal)
        this.#state = 'started'
      } catch (error) {
        this.#state = 'stopping'
        // let a start that ignores its signal settle before cleaning up after it
        await starting.catch(() => {})
        await this.onStop().catch((e: unknown) =>
          this.log.debug('cleanup after failed start threw', { error: errorMessage(e) }),
        )
        this.#clearPeers()
        this.#state = 'stopped'
        if (signal.aborted) throw abortErrorFor(signal)
        throw error
      } finally {
        this.#startAbort = undefined
      }
    }, options.signal)
  }

  /**
   * Stops the backend: cancels a start in progress, runs {@link onStop} and forgets every peer,
   * without `peer:lost` events. Idempotent, and a no-op when stopped. Rejects when `onStop` does
   * (the backend is stopped all the same). The start in progress is cancelled rather than awaited
   * (unlike `Discovery.stop()`): the signal {@link onStart} got aborts, and that `start()` call
   * rejects with an `AbortError` once `onStart` has settled and {@link onStop} has cleaned up.
   */
  async stop(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#wantStarted = false
    // a start still in progress is cancelled rather than awaited
    this.#startAbort?.abort(new Error('stopped while starting'))
    await this.#serialise(async () => {
      if (this.#state === 'stopped') return
      this.#state = 'stopping'
      try {
        await this.onStop()
      } finally {
        this.#clearPeers()
        this.#state = 'stopped'
      }
    }, options.signal)
  }

  /** Stops the backend, as `stop()` does; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /** Starts the backend's work (sockets, watches, timers); `signal` aborts a slow start. */
  protected abstract onStart(signal: AbortSignal | undefined): Promise<void>
  /** Releases everything `onStart` created; called once per successful or failed start. */
  protected abstract onStop(): Promise<void>

  /**
   * Finds a peer by node id or node name. This implementation answers from the peers reported so
   * far, without asking the medium (a subclass may override it): `undefined` when the peer is not
   * known, and always while stopped.
   */
  async lookup(nameOrId: string, options: AbortOptions = {}): Promise<PeerRecord | undefined> {
    throwIfAborted(options.signal)
    return this.findKnown(nameOrId)
  }

  /** Every peer reported so far and not lost, as a new array; empty while stopped. */
  async list(options: AbortOptions = {}): Promise<PeerRecord[]> {
    throwIfAborted(options.signal)
    return [...this.#peers.values()]
  }

  /** A reported peer by id or by name. */
  protected findKnown(nameOrId: string): PeerRecord | undefined {
    if (isNodeId(nameOrId)) return this.#peers.get(nameOrId)
    for (const record of this.#peers.values()) if (record.name === nameOrId) return record
    return undefined
  }

  /** Every peer currently reported. */
  protected knownPeers(): IterableIterator<PeerRecord> {
    return this.#peers.values()
  }

  /**
   * Reports a peer seen by the backend. `input` is validated (its `source` is set to this
   * backend's); invalid input is counted and dropped. Its `meta.services` list is checked as
   * `checkServiceMeta` does: bad names are removed, a list over the limits is removed whole, and
   * both are counted (`stats.droppedServiceNames`, `stats.droppedServiceLists`; each distinct list
   * of a peer once), so every backend reports clean service lists. Emits `peer:discovered` for a
   * new peer, `peer:updated` for a changed one, nothing for a repeat. Returns the accepted record.
   */
  protected reportPeer(input: unknown): PeerRecord | undefined {
    if (!this.active) return undefined
    const withSource = typeof input === 'object' && input !== null ? { ...input, source: this.source } : input
    const services = checkServiceInput(withSource)
    const parsed = parsePeerRecord(services?.input ?? withSource, this.recordLimits)
    if (!parsed.ok) {
      this.#stats.invalidRecords++
      this.log.debug('dropped invalid record', { error: parsed.error.message })
      this.#warnIfOnlyInvalid(parsed.error.message)
      return undefined
    }
    const record = parsed.record
    if (record.id === this.#self) return undefined
    this.#acceptedAny = true
    const known = this.#peers.get(record.id)
    if (known === undefined && this.#peers.size >= this.maxPeers) {
      this.#stats.overflowDrops++
      this.log.warn('peer map full: dropped a discovery', { maxPeers: this.maxPeers })
      return undefined
    }
    this.#countServiceDrops(record.id, services)
    if (known !== undefined) {
      if (sameRecord(known, record)) return known
      this.#peers.set(record.id, record)
      this.emit('peer:updated', { record, source: this.source })
      return record
    }
    this.#peers.set(record.id, record)
    this.emit('peer:discovered', { record, source: this.source })
    return record
  }

  // counts what was dropped from an accepted peer's service list, once per distinct list
  #countServiceDrops(id: string, services: CheckedServiceInput | undefined): void {
    if (services === undefined) {
      this.#serviceDrops.delete(id)
      return
    }
    if (this.#serviceDrops.has(id) && this.#serviceDrops.get(id) === services.raw) return
    this.#serviceDrops.set(id, services.raw)
    this.#stats.droppedServiceNames += services.droppedNames
    if (services.droppedList) this.#stats.droppedServiceLists++
    this.log.debug('dropped service names from a record', {
      id,
      droppedNames: services.droppedNames,
      droppedList: services.droppedList,
    })
  }

  #forget(id: string): void {
    this.#peers.delete(id)
    this.#serviceDrops.delete(id)
  }

  #clearPeers(): void {
    this.#peers.clear()
    this.#serviceDrops.clear()
  }

  /** Reports that a known peer went away; emits `peer:lost` once. Unknown ids are ignored. */
  protected reportLost(id: string, reason: PeerLostReason): void {
    const record = this.#peers.get(id)
    if (record === undefined) return
    this.#forget(id)
    if (this.active) this.emit('peer:lost', { record, source: this.source, reason })
  }

  /** Reports a transient failure as a `discovery:error` event; the backend keeps running. */
  protected reportError(error: unknown): void {
    this.#stats.errors++
    const err = toError(error)
    this.log.debug('backend error', { error: err.message })
    if (this.active) this.emit('discovery:error', { error: err, source: this.source })
  }

  /** Counts a record the subclass rejected itself (e.g. an undecodable packet). */
  protected countInvalid(reason: string): void {
    this.#stats.invalidRecords++
    this.log.debug('dropped invalid input', { reason })
    this.#warnIfOnlyInvalid(reason)
  }

  // The first invalid record of a start with no valid one before it is logged at warn (once per
  // start): a medium holding only records this backend drops (a zone's TXT without `id=`, another
  // version's announcements) finds nobody, and debug lines alone would not say why.
  #warnIfOnlyInvalid(reason: string): void {
    if (this.#acceptedAny || this.#warnedInvalid || !this.active) return
    this.#warnedInvalid = true
    this.log.warn('dropped an invalid record, and no valid one has been seen since start', {
      reason,
      hint: 'stats.invalidRecords counts every drop; the debug log gives each reason',
    })
  }

  // Runs lifecycle transitions one at a time, in call order.
  #serialise(fn: () => Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    return this.#transitions.run(fn, signal)
  }
}

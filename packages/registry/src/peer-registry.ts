import {
  type AbortOptions,
  isNodeId,
  type Logger,
  type PeerRecord,
  raceSignal,
  shortId,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  componentLogger,
  errorMessage,
  linkSignals,
  settleWithin,
  warnUnknownOptions,
  withTimeout,
} from '@peer/discovery-core/internal'
import { ConnectWaiters } from './connect-waiters.js'
import { safeClose } from './connections.js'
import { type DialContext, dialOne } from './dial-one.js'
import { dialPeer } from './dial-peer.js'
import { DialScheduler } from './dial-scheduler.js'
import { ConnectionCapError, DialTimeoutError, NotAMemberError, RegistryError } from './errors.js'
import type { RegistryConnection } from './interfaces.js'
import {
  checkTrust,
  createPeer,
  onDiscovered,
  onLost,
  onTrustAdded,
  rejectPeer,
  untrust,
} from './membership.js'
import { PeerConnections } from './peer-connections.js'
import { type PeerEntry, snapshotOf } from './peer-entry.js'
import type { DisconnectReason, PeerRegistryEvents, PeerRegistryStats } from './peer-events.js'
import type {
  EnsureConnectedOptions,
  PeerRegistryOptions,
  RegistryStartOptions,
  RegistryStopOptions,
} from './peer-registry-options.js'
import type { PeerState, PeerStatus } from './peer-status.js'
import { type RegistryConfig, resolveRegistryConfig } from './registry-config.js'
import type { RegistryCore, RegistryCounters } from './registry-core.js'
import { subscribeSources } from './registry-subscriptions.js'
import { runStallProbe } from './stall-probe.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const PEER_REGISTRY_OPTION_KEYS: ReadonlySet<string> = new Set([
  'backoff',
  'connect',
  'departedHoldMs',
  'dialTimeout',
  'dialTimeoutMs',
  'discovery',
  'evictIdle',
  'logger',
  'maxAddressesPerPeer',
  'maxConcurrentDials',
  'maxConnections',
  'maxPeers',
  'probeAttemptMs',
  'self',
  'simultaneousWindow',
  'simultaneousWindowMs',
  'stableAfter',
  'stableAfterMs',
  'stopTimeoutMs',
  'transport',
  'trust',
])

type RegistryState = 'stopped' | 'started' | 'draining'

/**
 * The trusted-peer registry, as Elixir PeerNet's `Registry`: it consumes discovery events and
 * keeps one connection to every trusted peer it hears of.
 *
 * - An untrusted id is logged, counted and emitted as `peer:rejected`, and never dialed.
 * - A trusted, unconnected id is dialed (at most `maxConcurrentDials` at once, each address with
 *   a `dialTimeoutMs`), pinned to its id; a connected one only refreshes its last-seen time.
 * - `peer:lost` marks the peer but never closes a live connection: the transport's liveness does.
 * - After a failed dial or a disconnect, the peer is redialed with jittered exponential backoff
 *   while it is still discovered; a lost peer that cannot be reached is forgotten.
 * - Simultaneous dials end with exactly one connection, the one dialed by the lower id, on both
 *   sides. Inbound connections come in through {@link PeerRegistry.accept}.
 * - An announced address is a hint: it never redirects or drops a live connection.
 * - Trust changes apply live: a removed id is disconnected, an added one is dialed if discovered.
 *
 * @example
 * ```ts
 * const peers = new PeerRegistry({ self: identity.id, transport, trust, discovery })
 * listener.addEventListener('connection', (e) => peers.accept(e.detail.connection))
 * peers.addEventListener('peer:connected', (e) => console.log('up', e.detail.id))
 * await peers.start()
 * ```
 */
export class PeerRegistry<
  C extends RegistryConnection = RegistryConnection,
> extends TypedEventTarget<PeerRegistryEvents> {
  /** This node's id. */
  readonly self: string

  readonly #cfg: RegistryConfig<C>
  readonly #log: Logger
  readonly #dials: DialScheduler<C>
  readonly #dialContext: DialContext<C>
  readonly #conns: PeerConnections<C>
  readonly #core: RegistryCore<C>
  readonly #waiters = new ConnectWaiters<C>()

  readonly #peers = new Map<string, PeerEntry<C>>()
  readonly #stats: RegistryCounters = {
    rejected: 0,
    dials: 0,
    dialFailures: 0,
    dialTimeouts: 0,
    pinMismatches: 0,
    connects: 0,
    disconnects: 0,
    duplicatesClosed: 0,
    replaced: 0,
    idConflicts: 0,
    overflowDrops: 0,
    slowDials: 0,
    stallProbes: 0,
    stallReplacements: 0,
    refusedOverCap: 0,
    evictions: 0,
    released: 0,
  }
  readonly #unsubscribe: Array<() => void> = []
  #state: RegistryState = 'stopped'
  #lifetime = new AbortController()

  constructor(options: PeerRegistryOptions<C>) {
    super()
    this.#cfg = resolveRegistryConfig(options)
    warnUnknownOptions('PeerRegistry', options, PEER_REGISTRY_OPTION_KEYS)
    this.self = options.self
    this.#log = componentLogger(options.logger, 'peer:registry:peers')
    this.onListenerError = (error, type) =>
      this.#log.warn('event listener threw', { type, error: errorMessage(error) })
    const cfg = this.#cfg
    this.#dialContext = {
      transport: cfg.transport,
      dialTimeoutMs: cfg.dialTimeout,
      stats: this.#stats,
      log: this.#log,
    }
    this.#dials = new DialScheduler<C>({
      maxDials: cfg.maxDials,
      backoff: cfg.backoff,
      probeAttemptMs: cfg.probeAttempt,
      departedHoldMs: cfg.departedHold,
      log: this.#log,
      running: () => this.#state === 'started',
      lookup: (id) => this.#peers.get(id),
      dial: (entry) => dialPeer(core, entry, (e, conn) => this.#conns.adopt(e, conn, 'outbound')),
      redialDue: (entry, state) => this.#redialDue(entry, state),
      slowDial: () => this.#stats.slowDials++,
    })
    const core: RegistryCore<C> = {
      self: this.self,
      cfg,
      log: this.#log,
      stats: this.#stats,
      peers: this.#peers,
      waiters: this.#waiters,
      dials: this.#dials,
      dialContext: this.#dialContext,
      started: () => this.#state === 'started',
      lifetime: () => this.#lifetime.signal,
      isTrusted: (id) => checkTrust(cfg.trust, this.#log, id),
      forget: (entry, reason) => this.#forget(entry, reason),
      emit: (type, detail) => this.emit(type, detail),
    }
    this.#core = core
    this.#conns = new PeerConnections(core)
  }

  /** True between `start()` and `stop()`. */
  get started(): boolean {
    return this.#state === 'started'
  }

  /** Number of peers tracked. */
  get size(): number {
    return this.#peers.size
  }

  /** Counters. */
  get stats(): Readonly<PeerRegistryStats> {
    return { ...this.#stats, listenerErrors: this.listenerErrors }
  }

  /**
   * Starts listening to discovery and trust changes and dials every trusted peer discovery
   * already knows (with `connect: 'on-demand'`: records them as members). Idempotent. Rejects with
   * an `AbortError` when `signal` is aborted before it or aborts while discovery's known peers are
   * listed; the registry is then left stopped (nothing subscribed, nothing dialed).
   */
  async start(options: RegistryStartOptions = {}): Promise<void> {
    const { signal } = options
    throwIfAborted(signal)
    if (this.#state === 'started') return
    this.#state = 'started'
    const lifetime = new AbortController()
    this.#lifetime = lifetime
    this.#subscribe()
    const listing = Promise.resolve(this.#cfg.discovery?.list?.()).catch((error: unknown) => {
      this.#log.warn('could not list discovered peers', { error: errorMessage(error) })
      return []
    })
    let known: readonly PeerRecord[] | undefined
    try {
      known = (await raceSignal(listing, signal)) as readonly PeerRecord[] | undefined
    } catch (error) {
      // aborted: undo this start with a full stop (subscriptions, and any inbound connection
      // adopted meanwhile), unless a stop or restart came in between; the aborted signal makes
      // the stop return without waiting for connections to report closed
      if (this.#state === 'started' && this.#lifetime === lifetime) await this.stop({ signal })
      throw error
    }
    if (this.#state !== 'started' || this.#lifetime !== lifetime) return
    for (const record of known ?? []) onDiscovered(this.#core, record, record.source, true)
  }

  /**
   * The first step of a graceful stop: no more dials or redials (dials in flight are cancelled,
   * timers cleared), and every new inbound connection is closed with reason `shutdown`. Live
   * connections stay until {@link PeerRegistry.stop}. Idempotent; a no-op unless started.
   */
  stopDialing(): void {
    if (this.#state !== 'started') return
    this.#state = 'draining'
    for (const off of this.#unsubscribe.splice(0)) off()
    this.#lifetime.abort(new RegistryError('peer registry stopping'))
    this.#dials.clear()
    for (const entry of this.#peers.values()) {
      this.#dials.clearTimer(entry)
      entry.dial?.abort(new RegistryError('dial cancelled: shutdown'))
    }
  }

  /**
   * Stops: no more dials or redials, every connection the registry holds is closed with reason
   * `shutdown` (all at once, each emitting `peer:disconnected`), and every peer is forgotten. Then
   * waits until the connections report closed, at most `timeoutMs` (or until `signal` aborts).
   * Idempotent.
   *
   * `signal` only cuts the wait: a stop is never left half-done, so even with an already aborted
   * signal the whole teardown above runs (synchronously) and `stop()` then resolves at once,
   * without an `AbortError`; the connections finish closing in the background.
   */
  async stop(options: RegistryStopOptions = {}): Promise<void> {
    if (this.#state === 'stopped') return
    this.stopDialing()
    this.#state = 'stopped'
    const closing: Promise<unknown>[] = []
    for (const entry of [...this.#peers.values()]) {
      const conn = entry.connection
      this.#forget(entry, 'shutdown')
      if (conn !== undefined) closing.push(Promise.resolve(conn.closed).catch(() => {}))
    }
    // never hang on a transport that does not settle `closed`
    await settleWithin(Promise.all(closing), options.timeoutMs ?? this.#cfg.stopTimeout, {
      signal: options.signal,
    })
  }

  /** Stops the registry, as `stop()` without options does; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /**
   * Offers an inbound connection (wire it to the transport listener). It is adopted when its
   * remote id is trusted and the peer has no better connection; otherwise it is closed (reason
   * `untrusted`, `duplicate`, `self`, `invalid id`, `shutdown` (stopping or stopped), `registry full`
   * or `connection cap` (at `maxConnections` with nothing evicted)). Returns true when adopted.
   */
  accept(connection: C): boolean {
    const id = connection.remoteId
    if (this.#state !== 'started') {
      safeClose(connection, 'shutdown', this.#log)
      return false
    }
    if (!isNodeId(id)) {
      this.#log.warn('closed an inbound connection without a valid node id')
      safeClose(connection, 'invalid id', this.#log)
      return false
    }
    if (id === this.self) {
      safeClose(connection, 'self', this.#log)
      return false
    }
    if (!this.#core.isTrusted(id)) {
      rejectPeer(this.#core, id, 'inbound')
      safeClose(connection, 'untrusted', this.#log)
      return false
    }
    const entry = this.#peers.get(id) ?? createPeer(this.#core, id)
    if (entry === undefined) {
      safeClose(connection, 'registry full', this.#log)
      return false
    }
    return this.#conns.adopt(entry, connection, 'inbound')
  }

  /**
   * The live connection to `id` looks stalled (the caller's traffic on it stopped while the peer
   * should answer, e.g. a partition shorter than the idle timeout, whose heal QUIC notices only at
   * its next retransmission, seconds later): dials the peer afresh on its known addresses, with
   * probing attempts (each cut after `probeAttemptMs`, or 1,000 ms when that is 0; one at a time)
   * while the stalled connection stays. When a handshake succeeds while the stalled connection is
   * still the peer's and `signal` has not aborted, the new connection replaces it
   * (`peer:connection-replaced`) and the stalled one is closed with reason `stalled`; when the
   * stalled one closed while that dial was in flight, the new one is adopted (`peer:connected`).
   * Abort `signal` when the stalled connection recovers. Resolves true when it replaced (or
   * adopted) a connection, false otherwise (no address known, a probe for the peer already runs,
   * the connection changed or closed before the probe's dial, `signal` aborted, the registry
   * stopped). Never rejects.
   */
  async probeStalled(id: string, options: { signal?: AbortSignal | undefined } = {}): Promise<boolean> {
    const entry = this.#peers.get(id)
    const stalled = entry?.connection
    if (this.#state !== 'started' || entry === undefined || stalled === undefined) return false
    if (entry.stallProbe === true || entry.addresses.length === 0 || options.signal?.aborted) return false
    entry.stallProbe = true
    this.#stats.stallProbes++
    this.#log.debug('probing a stalled connection', { id: shortId(id) })
    const linked = linkSignals([this.#lifetime.signal, options.signal])
    const signal = linked.signal
    const attemptMs = this.#cfg.probeAttempt > 0 ? this.#cfg.probeAttempt : DEFAULT_STALL_PROBE_MS
    try {
      return await runStallProbe(
        {
          log: this.#log,
          stats: this.#stats,
          isCurrent: (e) => this.#state === 'started' && this.#peers.get(e.id) === e,
          dialOne: (peer, address, s, ms) => dialOne(this.#dialContext, peer, address, s, ms),
          adopt: (e, conn) => this.#conns.adopt(e, conn, 'outbound'),
          replace: (e, conn, previous) => this.#conns.install(e, conn, 'outbound', previous),
        },
        entry,
        stalled,
        signal,
        attemptMs,
      )
    } finally {
      linked.release()
      entry.stallProbe = false
    }
  }

  /**
   * Asked while an inbound connection from `id` is being confirmed, before the listener hands it
   * out. True when this registry will keep that connection as things stand: the peer is trusted
   * and has no connection, and no dial of ours to it is in flight or queued. Then our own dials to
   * `id` wait until `until` settles (at most `dialTimeoutMs`), so no simultaneous dial of ours
   * can make the registry close the inbound one as the loser of a tie. The caller may tell the
   * peer (`@peer/node` says so in its hello, and a dialer with the higher id then uses the
   * connection at once instead of waiting for proof). The connection can still be refused for
   * other reasons: trust withdrawn, `maxConnections`, a stop.
   */
  expectInbound(id: string, until: Promise<unknown>): boolean {
    if (this.#state !== 'started' || !isNodeId(id) || id === this.self || !this.#core.isTrusted(id))
      return false
    const entry = this.#peers.get(id)
    if (entry !== undefined) {
      if (entry.connection !== undefined || entry.dial !== undefined || entry.stallProbe === true)
        return false
      if (entry.state === 'queued' || entry.state === 'dialing') return false
    }
    this.#dials.hold(id, until, this.#cfg.dialTimeout)
    return true
  }

  /** The live connection to `id`, if any. */
  connection(id: string): C | undefined {
    return this.#peers.get(id)?.connection
  }

  /**
   * The live connection to `id`, dialing it first when there is none: joins a dial in flight, or
   * dials the member now (bypassing the redial backoff, within `maxConcurrentDials`). Rejects with
   * `RegistryError` when the registry is not started (or the peer is forgotten meanwhile),
   * `NotAMemberError` (not a trusted member with an address), `ConnectionCapError` (at
   * `maxConnections` with nothing idle to evict), the dial's error, `DialTimeoutError` after
   * `timeoutMs`, or an `AbortError` when `signal` aborts.
   */
  async ensureConnected(id: string, options: EnsureConnectedOptions = {}): Promise<C> {
    throwIfAborted(options.signal)
    if (this.#state !== 'started') throw new RegistryError('the peer registry is not started')
    const entry = this.#peers.get(id)
    if (entry?.connection !== undefined) return entry.connection
    if (entry === undefined || entry.addresses.length === 0 || !this.#core.isTrusted(id)) {
      throw new NotAMemberError(`${id} is not a trusted member with a known address`)
    }
    const timeoutMs = options.timeoutMs ?? this.#cfg.dialTimeout * entry.addresses.length
    const wait = this.#waiters.wait(id)
    try {
      if (entry.state !== 'queued' && entry.state !== 'dialing') {
        if (!this.#conns.roomFor(entry)) throw new ConnectionCapError(this.#cfg.maxConnections)
        this.#dials.clearTimer(entry)
        this.#dials.enqueue(entry)
      }
      return await withTimeout(
        wait.promise,
        timeoutMs,
        () => new DialTimeoutError(`no connection to ${shortId(id)} within ${timeoutMs} ms`),
        options.signal,
      )
    } finally {
      wait.cancel()
    }
  }

  /**
   * Closes the connection to `id` as unused, with `reason` (`idle` or `evicted`, sent to the
   * peer): `peer:disconnected` is emitted at once, the peer stays a member, and neither side
   * redials it by itself; {@link PeerRegistry.ensureConnected} dials it again. Returns false when
   * there was no connection.
   */
  release(id: string, reason: 'idle' | 'evicted'): boolean {
    return this.#conns.release(id, reason)
  }

  /** The ids of every connected peer. */
  connectedIds(): string[] {
    return [...this.#peers.values()].filter((e) => e.connection !== undefined).map((e) => e.id)
  }

  /** A snapshot of one peer, or `undefined` when it is not tracked. */
  status(id: string): PeerStatus | undefined {
    const entry = this.#peers.get(id)
    return entry === undefined ? undefined : snapshotOf(entry)
  }

  /** A snapshot of every tracked peer. */
  peers(): PeerStatus[] {
    return [...this.#peers.values()].map((e) => snapshotOf(e))
  }

  /**
   * Applies the current trust list: disconnects and forgets every tracked peer that is no longer
   * trusted, and dials every discovered peer that now is. Called by itself on `trust:added`,
   * `trust:removed` and `change` events; call it yourself when `trust` is a predicate. An aborted
   * `signal` rejects with `AbortError`, also while the discovered peers are being listed (the
   * untrusted ones are disconnected by then).
   */
  async refreshTrust(options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    throwIfAborted(signal)
    if (this.#state !== 'started') return
    for (const entry of [...this.#peers.values()]) {
      if (!this.#core.isTrusted(entry.id)) untrust(this.#core, entry.id)
    }
    const listing = this.#cfg.discovery?.list?.({ signal }).catch(() => []) ?? Promise.resolve([])
    const known = ((await raceSignal(listing, signal)) ?? []) as readonly PeerRecord[]
    throwIfAborted(signal)
    if (this.#state !== 'started') return
    for (const record of known) {
      if (!this.#peers.has(record.id) && this.#core.isTrusted(record.id))
        onDiscovered(this.#core, record, record.source, true)
    }
  }

  #refreshQuietly(): void {
    this.refreshTrust().catch((error: unknown) =>
      this.#log.warn('applying a trust change failed', { error: errorMessage(error) }),
    )
  }

  // ---- discovery and trust events ----

  #subscribe(): void {
    this.#unsubscribe.push(
      ...subscribeSources(this.#cfg.discovery, this.#cfg.trust, {
        discovered: (record, source, fresh) => onDiscovered(this.#core, record, source, fresh),
        lost: (id, source, reason) => onLost(this.#core, id, source, reason),
        refresh: () => this.#refreshQuietly(),
        trustAdded: (id) => onTrustAdded(this.#core, id, () => this.#refreshQuietly()),
        trustRemoved: (id) => {
          if (!this.#core.isTrusted(id)) untrust(this.#core, id)
        },
        malformed: (type, error) =>
          this.#log.warn('the discovery source sent an event of another shape; ignored', {
            type,
            error: errorMessage(error),
          }),
      }),
    )
  }

  // ---- peer map ----

  /** Removes a peer: cancels its dial and timer, closes its connection (emitting `peer:disconnected`). */
  #forget(entry: PeerEntry<C>, reason: DisconnectReason): void {
    if (this.#peers.get(entry.id) === entry) this.#peers.delete(entry.id)
    this.#dials.clearTimer(entry)
    this.#dials.dequeue(entry.id)
    entry.dial?.abort(new RegistryError(`dial cancelled: ${reason}`))
    this.#waiters.reject(entry.id, new RegistryError(`dial cancelled: ${reason}`))
    const conn = entry.connection
    if (conn !== undefined) {
      const direction = entry.direction ?? 'outbound'
      entry.connection = undefined
      entry.state = 'idle'
      this.#stats.disconnects++
      safeClose(conn, reason, this.#log)
      this.emit('peer:disconnected', { id: entry.id, reason, direction })
    }
  }

  // ---- dialing ----

  /** A redial timer fired (`state` is the state it was set in: `backoff` or `departed`). */
  #redialDue(entry: PeerEntry<C>, state: PeerState): void {
    entry.timer = undefined
    entry.nextDialAt = undefined
    if (this.#peers.get(entry.id) !== entry || entry.state !== state) return
    if (!entry.discovered || !this.#core.isTrusted(entry.id)) {
      this.#forget(entry, 'lost')
      return
    }
    this.#dials.enqueue(entry)
  }
}

/** The attempt length of a stall probe when `probeAttemptMs` is 0. */
const DEFAULT_STALL_PROBE_MS = 1000

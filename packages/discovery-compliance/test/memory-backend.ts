// A hand-written in-memory backend for the kit's own tests. Instances share a `MemoryMedium`.
// Each `Flaw` breaks exactly one rule of the behaviour, so the tests can show the kit catches it.
import {
  AbortError,
  type AbortOptions,
  type DiscoveryCapability,
  type DiscoveryEvents,
  type LocalPeer,
  type PeerRecord,
  TypedEventTarget,
  validateLocalPeer,
  validatePeerRecord,
} from '@peer/discovery-core'
import type { DiscoveryHarness } from '../src/index.js'

export type Flaw =
  | 'events-before-start'
  | 'events-after-stop'
  | 'start-not-idempotent'
  | 'duplicate-discovered'
  | 'reports-self'
  | 'no-lost-on-withdraw'
  | 'ignores-abort'
  | 'wrong-abort-error'
  | 'accepts-invalid-announce'
  | 'emits-invalid-records'
  | 'listener-breaks-backend'
  | 'leaks-timer'
  | 'no-async-dispose'
  | 'lookup-misses'
  | 'ignores-expiry'
  | 'keeps-lost-records'
  | 'remembers-lost-peers'
  | 'malformed-events'
  | 'null-for-miss'

const leakedTimers = new Set<ReturnType<typeof setInterval>>()

/** Clears the timers the `leaks-timer` flaw left behind (for the kit's own afterEach). */
export function clearLeakedTimers(): void {
  for (const timer of leakedTimers) clearInterval(timer)
  leakedTimers.clear()
}

export class MemoryMedium extends EventTarget {
  readonly peers = new Map<string, unknown>()
  put(id: string, value: unknown) {
    this.peers.set(id, value)
    this.dispatchEvent(new CustomEvent('change', { detail: { id } }))
  }
  delete(id: string, expired = false) {
    this.peers.delete(id)
    this.dispatchEvent(new CustomEvent('change', { detail: { id, expired } }))
  }
  readonly #expiries = new Set<ReturnType<typeof setTimeout>>()
  /** Puts a value that deletes itself after `ms`. */
  putExpiring(id: string, value: unknown, ms: number) {
    this.put(id, value)
    const timer = setTimeout(() => {
      this.#expiries.delete(timer)
      this.delete(id, true)
    }, ms)
    this.#expiries.add(timer)
  }
  close() {
    for (const timer of this.#expiries) clearTimeout(timer)
    this.#expiries.clear()
  }
}

export class MemoryBackend extends TypedEventTarget<DiscoveryEvents> {
  readonly source = 'memory'
  readonly capabilities: ReadonlySet<DiscoveryCapability> = new Set(['announce', 'list', 'watch', 'expiry'])
  started = false
  invalid = 0
  readonly #known = new Map<string, PeerRecord>()
  /** The `keeps-lost-records` flaw: a history nobody reads, holding every lost record. */
  readonly #history: PeerRecord[] = []
  #self: string | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  readonly #onChange = (event: Event) => {
    const { id, expired } = (event as CustomEvent<{ id: string; expired?: boolean }>).detail
    if (expired === true && this.flaw === 'ignores-expiry') return
    this.#sync(id)
  }

  constructor(
    readonly medium: MemoryMedium,
    readonly flaw?: Flaw,
  ) {
    super()
    if (flaw === 'no-async-dispose')
      (this as { [Symbol.asyncDispose]?: unknown })[Symbol.asyncDispose] = undefined
    if (flaw === 'events-before-start') medium.addEventListener('change', this.#onChange)
  }

  get stats() {
    return { invalidRecords: this.invalid, overflowDrops: 0, listenerErrors: this.listenerErrors, errors: 0 }
  }

  #check(options: AbortOptions) {
    if (options.signal?.aborted && this.flaw !== 'ignores-abort') {
      throw this.flaw === 'wrong-abort-error' ? new Error('aborted') : new AbortError()
    }
  }

  async start(options: AbortOptions = {}) {
    this.#check(options)
    if (this.started && this.flaw !== 'start-not-idempotent') return
    if (this.started) throw new Error('already started')
    await new Promise((r) => setTimeout(r, 1))
    this.#check(options)
    this.started = true
    if (this.flaw !== 'events-before-start') this.medium.addEventListener('change', this.#onChange)
    if (this.flaw === 'leaks-timer') {
      this.#timer = setInterval(() => {}, 1000)
      leakedTimers.add(this.#timer)
    }
    for (const id of this.medium.peers.keys()) this.#sync(id)
  }

  async stop(options: AbortOptions = {}) {
    this.#check(options)
    if (!this.started) return
    this.started = false
    if (this.flaw !== 'events-before-start' && this.flaw !== 'events-after-stop') {
      this.medium.removeEventListener('change', this.#onChange)
    }
    if (this.flaw !== 'leaks-timer') clearInterval(this.#timer)
    if (this.flaw !== 'events-after-stop') this.#known.clear()
  }

  async [Symbol.asyncDispose]() {
    await this.stop()
  }

  async announce(self: LocalPeer, options: AbortOptions = {}) {
    this.#check(options)
    const peer = this.flaw === 'accepts-invalid-announce' ? self : validateLocalPeer(self)
    this.#self = peer.id
    this.medium.put(peer.id, { ...peer })
  }

  async withdraw(options: AbortOptions = {}) {
    this.#check(options)
    if (this.#self !== undefined) this.medium.delete(this.#self)
  }

  async lookup(nameOrId: string, options: AbortOptions = {}) {
    this.#check(options)
    if (this.flaw === 'lookup-misses') return undefined
    const direct = this.#known.get(nameOrId)
    if (direct) return direct
    const byName = [...this.#known.values()].find((r) => r.name === nameOrId)
    // the flaw: null for "none", which the interface's PeerRecord | undefined does not allow
    return byName === undefined && this.flaw === 'null-for-miss' ? (null as unknown as undefined) : byName
  }

  async list(options: AbortOptions = {}) {
    this.#check(options)
    return [...this.#known.values()]
  }

  #sync(id: string) {
    if (!this.started && this.flaw !== 'events-before-start' && this.flaw !== 'events-after-stop') return
    if (id === this.#self && this.flaw !== 'reports-self') return
    const value = this.medium.peers.get(id)
    if (value === undefined) {
      const known = this.#known.get(id)
      if (!known) return
      if (this.flaw !== 'remembers-lost-peers') this.#known.delete(id)
      if (this.flaw === 'keeps-lost-records') this.#history.push(known)
      if (this.flaw === 'no-lost-on-withdraw') return
      this.dispatchEvent(
        new CustomEvent('peer:lost', { detail: { record: known, source: this.source, reason: 'withdrawn' } }),
      )
      return
    }
    let record: PeerRecord
    try {
      record = validatePeerRecord({ ...(value as object), source: this.source })
    } catch {
      this.invalid++
      if (this.flaw !== 'emits-invalid-records') return
      record = { ...(value as PeerRecord), source: this.source }
    }
    if (this.#known.has(id) && this.flaw !== 'duplicate-discovered') return
    this.#known.set(id, record)
    // the flaw: the record under another key (a hand-written backend's slip)
    const detail = (
      this.flaw === 'malformed-events'
        ? { peer: record, source: this.source }
        : { record, source: this.source }
    ) as { record: PeerRecord; source: string }
    const event = new CustomEvent('peer:discovered', { detail })
    if (this.flaw === 'listener-breaks-backend') {
      // gives up (stops itself) when a listener throws, instead of isolating and counting it
      const errorsBefore = this.listenerErrors
      this.dispatchEvent(event)
      if (this.listenerErrors > errorsBefore) {
        this.listenerErrors = errorsBefore
        this.started = false
        this.#known.clear()
      }
      return
    }
    this.dispatchEvent(event)
  }
}

/** A harness over one shared medium; every instance gets `flaw`. */
export function memoryHarness(flaw?: Flaw): DiscoveryHarness<MemoryBackend> {
  const medium = new MemoryMedium()
  return {
    propagationTimeoutMs: 1000,
    async setup({ count }) {
      return Array.from({ length: count }, () => new MemoryBackend(medium, flaw))
    },
    async seedInvalid() {
      medium.put('garbage', { id: 'not-an-id', addresses: 'nope' })
    },
    async seedExpiring(peer) {
      medium.putExpiring(peer.id, { ...peer }, 300)
    },
    async teardown() {
      medium.close()
    },
  }
}

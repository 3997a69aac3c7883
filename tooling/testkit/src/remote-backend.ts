// Discovery backends that live in a child process (e.g. inside a network namespace, where they may
// use multicast) and are driven from the test process through proxies that implement the
// `DiscoveryBackend` contract, so the compliance kit and ordinary tests can use them unchanged.
//
// Child side:  serveBackends((options) => new MyBackend(options), (backends) => ({ extraMethod }))
// Parent side: const host = await spawnBackendHost(file, { netns }); const b = await host.create(options)
import {
  type AbortOptions,
  abortErrorFor,
  type DiscoveryBackend,
  type DiscoveryCapability,
  type DiscoveryEvents,
  type DiscoveryStats,
  type LocalPeer,
  type PeerRecord,
  raceSignal,
  TypedEventTarget,
  throwIfAborted,
} from '@peer/discovery-core'
import {
  type RpcChild,
  type RpcHandler,
  type SpawnChildOptions,
  serveRpc,
  spawnChild,
} from './child-process.js'

const EVENT_TYPES = ['peer:discovered', 'peer:updated', 'peer:lost', 'discovery:error'] as const

/** What the child reports about one backend after each call and with each event. */
interface Snapshot {
  stats: DiscoveryStats
}

interface EventMessage extends Snapshot {
  i: number
  type: (typeof EVENT_TYPES)[number]
  detail: Record<string, unknown>
}

/**
 * A {@link DiscoveryBackend} whose real instance lives in a child process. Lifecycle, announce,
 * lookup and list are forwarded; events and stats come back. Abort signals are honoured locally
 * (an aborted `start` also stops the remote instance).
 */
export class RemoteBackend extends TypedEventTarget<DiscoveryEvents> implements DiscoveryBackend {
  readonly source: string
  readonly capabilities: ReadonlySet<DiscoveryCapability>
  /** Index of the instance in its host. */
  readonly index: number
  readonly #host: BackendHost
  #started = false
  /** From start() until stop(): the window in which the remote may emit events. */
  #active = false
  #remoteStats: DiscoveryStats = { invalidRecords: 0, overflowDrops: 0, listenerErrors: 0, errors: 0 }

  /** @internal use {@link BackendHost.create} */
  constructor(host: BackendHost, index: number, source: string, capabilities: DiscoveryCapability[]) {
    super()
    this.#host = host
    this.index = index
    this.source = source
    this.capabilities = new Set(capabilities)
    if (!this.capabilities.has('announce')) {
      ;(this as { announce?: unknown }).announce = undefined
      ;(this as { withdraw?: unknown }).withdraw = undefined
    }
    if (!this.capabilities.has('list')) (this as { list?: unknown }).list = undefined
  }

  get started(): boolean {
    return this.#started
  }

  get stats(): Readonly<DiscoveryStats> {
    return { ...this.#remoteStats, listenerErrors: this.#remoteStats.listenerErrors + this.listenerErrors }
  }

  /** @internal */
  onSnapshot(snapshot: Snapshot): void {
    this.#remoteStats = snapshot.stats
  }

  /** @internal */
  onRemoteEvent(message: EventMessage): void {
    this.onSnapshot(message)
    if (!this.#active) return
    const detail = { ...message.detail }
    if (message.type === 'discovery:error') {
      const e = detail.error as { name?: string; message?: string }
      const error = new Error(e?.message ?? 'remote error')
      error.name = e?.name ?? 'Error'
      detail.error = error
    }
    this.emit(message.type, detail as never)
  }

  /** Calls `method` on the remote instance (`{ i, ...params }`), honouring `signal`. */
  async call<T>(method: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    throwIfAborted(signal)
    const res = this.#host.child.call<{ value: T } & Snapshot>(method, { i: this.index, ...params })
    const out = await raceSignal(res, signal)
    this.onSnapshot(out)
    return out.value
  }

  /** Calls an extra method of the host (see `serveBackends`' `extra`) with `{ i, ...params }`. */
  extra<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return this.#host.child.call<T>(method, { i: this.index, ...params })
  }

  async start(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#active = true
    try {
      await this.call('start', {}, options.signal)
      this.#started = true
    } catch (error) {
      if (!this.#started) this.#active = false
      if (options.signal?.aborted) {
        // the remote start may still complete: stop it right behind (calls run in order)
        void this.call('stop').catch(() => {})
        throw abortErrorFor(options.signal)
      }
      throw error
    }
  }

  async stop(options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    this.#started = false
    this.#active = false
    await this.call('stop', {}, options.signal)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  async announce(self: LocalPeer, options: AbortOptions = {}): Promise<void> {
    await this.call('announce', { self }, options.signal)
  }

  async withdraw(options: AbortOptions = {}): Promise<void> {
    await this.call('withdraw', {}, options.signal)
  }

  async lookup(nameOrId: string, options: AbortOptions = {}): Promise<PeerRecord | undefined> {
    const found = await this.call<PeerRecord | null>('lookup', { nameOrId }, options.signal)
    return found ?? undefined
  }

  async list(options: AbortOptions = {}): Promise<PeerRecord[]> {
    return this.call<PeerRecord[]>('list', {}, options.signal)
  }
}

/** A child process hosting backend instances; see {@link spawnBackendHost}. */
export class BackendHost {
  readonly child: RpcChild
  readonly backends: RemoteBackend[] = []

  /** @internal use {@link spawnBackendHost} */
  constructor(child: RpcChild) {
    this.child = child
    child.addEventListener('backend', (event) => {
      const message = (event as CustomEvent<EventMessage>).detail
      this.backends[message.i]?.onRemoteEvent(message)
    })
    child.addEventListener('stats', (event) => {
      const message = (event as CustomEvent<{ i: number } & Snapshot>).detail
      this.backends[message.i]?.onSnapshot(message)
    })
  }

  /** Creates a backend instance in the child with `options` (JSON) and returns its proxy. */
  async create(options: Record<string, unknown> = {}): Promise<RemoteBackend> {
    const info = await this.child.call<{ i: number; source: string; capabilities: DiscoveryCapability[] }>(
      'create',
      {
        options,
      },
    )
    const backend = new RemoteBackend(this, info.i, info.source, info.capabilities)
    this.backends[info.i] = backend
    return backend
  }

  /** Stops every instance (so they can say goodbye) and ends the child. */
  async close(): Promise<void> {
    await this.child.close()
  }
}

/** Spawns `file` (which calls {@link serveBackends}) as a child, e.g. inside a namespace. */
export async function spawnBackendHost(file: string, options: SpawnChildOptions = {}): Promise<BackendHost> {
  return new BackendHost(await spawnChild(file, options))
}

/**
 * Child side: hosts backends made by `create` and serves the calls of {@link RemoteBackend}, plus
 * `extra(backends)` methods (e.g. to inject raw packets). Events and stats are pushed to the
 * parent; on shutdown every backend is stopped.
 */
export function serveBackends(
  create: (options: Record<string, unknown>) => DiscoveryBackend,
  extra: (backends: DiscoveryBackend[]) => Record<string, RpcHandler> = () => ({}),
): void {
  const backends: DiscoveryBackend[] = []
  const lastStats: string[] = []
  const snapshot = (i: number): Snapshot => ({ stats: { ...backends[i]!.stats } })
  const get = (i: unknown): DiscoveryBackend => {
    const b = typeof i === 'number' ? backends[i] : undefined
    if (b === undefined) throw new RangeError(`no backend ${String(i)}`)
    return b
  }
  const wrap =
    (fn: (b: DiscoveryBackend, params: Record<string, unknown>) => unknown) =>
    async (params: Record<string, unknown> & { i: number }) => {
      const b = get(params.i)
      const value = await fn(b, params)
      return { value: value ?? null, ...snapshot(params.i) }
    }
  const server = serveRpc(
    {
      create: ({ options }: { options: Record<string, unknown> }) => {
        const b = create(options ?? {})
        const i = backends.push(b) - 1
        for (const type of EVENT_TYPES) {
          b.addEventListener(type, (event: Event) => {
            const detail = { ...(event as CustomEvent<Record<string, unknown>>).detail }
            if (detail.error instanceof Error)
              detail.error = { name: detail.error.name, message: detail.error.message }
            server.emit('backend', { i, type, detail, ...snapshot(i) })
          })
        }
        return { i, source: b.source, capabilities: [...b.capabilities] }
      },
      start: wrap((b) => b.start()),
      stop: wrap((b) => b.stop()),
      announce: wrap((b, p) => b.announce?.(p.self as LocalPeer)),
      withdraw: wrap((b) => b.withdraw?.()),
      lookup: wrap((b, p) => b.lookup(String(p.nameOrId))),
      list: wrap((b) => b.list?.() ?? []),
      ...extra(backends),
    },
    {
      onShutdown: async () => {
        clearInterval(timer)
        await Promise.allSettled(backends.map((b) => b.stop()))
      },
    },
  )
  // push stats when they change (counted drops happen without events)
  const timer = setInterval(() => {
    backends.forEach((b, i) => {
      const s = JSON.stringify(b.stats)
      if (s !== lastStats[i]) {
        lastStats[i] = s
        server.emit('stats', { i, stats: { ...b.stats } })
      }
    })
  }, 25)
  timer.unref()
}

import { type AbortOptions, type Logger, type LoggerFactory, TypedEventTarget } from '@peer/discovery-core'
import {
  componentLogger,
  describeValue,
  errorMessage,
  hasControlChars,
  numberOption,
  warnUnknownOptions,
} from '@peer/discovery-core/internal'
import {
  DuplicateServerNameError,
  InvalidPortError,
  InvalidServerError,
  InvalidServerNameError,
  PortUnavailableError,
  RegistryConfigError,
  RegistryFullError,
  ServerNotFoundError,
} from './errors.js'
import { checkPublisher, PublishQueue, type ServicePublisher } from './server-publisher.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const SERVER_REGISTRY_OPTION_KEYS: ReadonlySet<string> = new Set(['logger', 'maxServers', 'publish'])

/**
 * What `address` may return: `{ port }` (as `node:net`, `node:dgram` and the QUIC listener do), a string or
 * nothing.
 */
export type ServerAddressValue = { readonly port: number } | string | null | undefined

/**
 * The small interface a server needs to be registered. `@peer/transport-quic` listeners meet it,
 * and so do `node:net` and `node:dgram` servers; any object with the members below works.
 *
 * - The bound port comes from `port` (a number) or from `address` (an object with `port`, or a
 *   method returning one). A server bound to port 0 reports 0 or nothing until it is bound.
 * - Live connections come from `connections` (an iterable, or a method returning one); a server
 *   without it has none.
 * - Closing is observed through `closed` (a promise that settles when the server has closed), or
 *   a `close` event (`addEventListener`/`removeEventListener` as on an `EventTarget`, or
 *   `once`/`off` as on an `EventEmitter`). A server with none of these cannot be registered.
 */
export interface ServerLike {
  /** The bound port; read first. Anything but an integer in 1-65535 counts as not bound yet. */
  readonly port?: number | undefined
  /**
   * The bound address, or a method returning it (`node:net` style), read when `port` is not a
   * number: its `port` is used; a string, `null`, `undefined` or a throw counts as not bound yet.
   */
  readonly address?: ServerAddressValue | (() => ServerAddressValue)
  /**
   * Live connections: an iterable or a method returning one (a number, as `node:net` has, counts as none).
   */
  readonly connections?: Iterable<unknown> | (() => Iterable<unknown>) | number
  /** Settles (either way) once the server has closed; its entry is then removed (reason `closed`). */
  readonly closed?: PromiseLike<unknown>
  /** Subscribes to the `close` event (`EventTarget` style); used only with `removeEventListener`. */
  addEventListener?(type: 'close', listener: () => void): void
  /** Unsubscribes from the `close` event when the entry goes away; needed with `addEventListener`. */
  removeEventListener?(type: 'close', listener: () => void): void
  /**
   * Subscribes once to the `close` event (`EventEmitter` style); used with `off`, and only when the
   * server lacks `addEventListener`/`removeEventListener`.
   */
  once?(event: 'close', listener: () => void): unknown
  /** Unsubscribes from the `close` event when the entry goes away; needed with `once`. */
  off?(event: 'close', listener: () => void): unknown
}

/** The connection type of a server: what its `connections` iterable (or method) yields. */
export type ConnectionOf<S> = S extends { readonly connections?: infer C }
  ? C extends Iterable<infer T>
    ? T
    : C extends () => Iterable<infer T>
      ? T
      : unknown
  : unknown

/** Options of {@link ServerRegistry.register}. */
export interface RegisterOptions<O> {
  /** The port, when the caller knows it (0 or absent: ask the server). */
  port?: number
  /** Anything the caller wants to keep with the entry (the server's start options, say). */
  options?: O
}

/** One registered server, as {@link ServerRegistry.lookup} returns it. */
export interface ServerEntry<S extends ServerLike = ServerLike, O = Readonly<Record<string, unknown>>> {
  /** The name the server is registered under. */
  readonly name: string
  /** The registered server itself (not a copy). */
  readonly server: S
  /** The known port: 0 while the server has not reported a bound port. */
  readonly port: number
  /** The `options` given to {@link ServerRegistry.register}, or `undefined` when none were. */
  readonly options: O | undefined
  /** When the server was registered (ms since the epoch). */
  readonly startedAt: number
}

/** Why an entry went away. */
export type ServerRemovedReason = 'unregistered' | 'closed' | 'cleared'

/** Events of a {@link ServerRegistry}. */
export interface ServerRegistryEvents {
  /**
   * A server was registered under `name`; `port` is its known port (0 when it has not reported a
   * bound one yet).
   */
  'server:registered': CustomEvent<{ readonly name: string; readonly port: number }>
  /**
   * The entry for `name` went away; `reason` says how: {@link ServerRegistry.unregister}
   * (`unregistered`), the server closed (`closed`) or {@link ServerRegistry.clear} (`cleared`).
   */
  'server:unregistered': CustomEvent<{ readonly name: string; readonly reason: ServerRemovedReason }>
}

/** Options of {@link ServerRegistry}. */
export interface ServerRegistryOptions {
  /**
   * Most servers registered at once; `register` beyond it throws {@link RegistryFullError}.
   * A positive integer (else the constructor throws {@link RegistryConfigError}). Default 1024.
   */
  maxServers?: number
  /** Logger factory; silent by default. Namespace `peer:registry:servers`. */
  logger?: LoggerFactory
  /**
   * Publishes every registered name as a cluster service through this publisher (a `PeerNode`
   * from `@peer/node`: `new ServerRegistry({ publish: node })`): `provide(name)` when a server is
   * registered, `unprovide(name)` when its entry goes away (unregistered, closed or cleared). With
   * it, `register` also requires a valid service name (1-63 characters of `a-z`, `0-9`, `.`, `_`,
   * `-`, starting with a letter or a digit; else {@link InvalidServerNameError}) and at most 32
   * published names, 255 characters comma-separated (else `ServiceListTooLargeError` from
   * `@peer/discovery-core`). Publisher failures are logged and counted in
   * {@link ServerRegistry.stats}, never thrown. An object without both methods makes the
   * constructor throw {@link RegistryConfigError}.
   */
  publish?: ServicePublisher | undefined
}

/** Counters of a {@link ServerRegistry}. */
export interface ServerRegistryStats {
  /** Publisher calls (`provide` / `unprovide` of the `publish` option) that threw or rejected. */
  readonly publishErrors: number
  /** Event listeners that threw (caught and logged). */
  readonly listenerErrors: number
}

/** Longest server name accepted. */
export const MAX_SERVER_NAME_LENGTH = 255

interface Entry<S, O> {
  readonly name: string
  readonly server: S
  port: number
  readonly options: O | undefined
  readonly startedAt: number
  detach: () => void
}

/**
 * A registry of named servers, as Erlang quic's `quic_server_registry`: register a server under a
 * unique name, look it up, list the names, resolve a port-0 server to its bound port, list its
 * connections, update its port, and unregister it. An entry disappears by itself when its server
 * closes, but only while that server is still the registered instance: closing an old server after
 * its name was registered again leaves the new entry alone.
 *
 * @example
 * ```ts
 * const servers = new ServerRegistry()
 * servers.register('api', listener, { options: { alpn: 'peer/1' } })
 * servers.getPort('api') // the bound port, even when the listener was started on port 0
 * ```
 */
export class ServerRegistry<
  S extends ServerLike = ServerLike,
  O = Readonly<Record<string, unknown>>,
> extends TypedEventTarget<ServerRegistryEvents> {
  readonly #entries = new Map<string, Entry<S, O>>()
  readonly #max: number
  readonly #log: Logger
  readonly #publish: PublishQueue | undefined

  constructor(options: ServerRegistryOptions = {}) {
    super()
    warnUnknownOptions('ServerRegistry', options, SERVER_REGISTRY_OPTION_KEYS)
    this.#max = numberOption(
      options.maxServers,
      'maxServers',
      1024,
      { min: 1, integer: true },
      RegistryConfigError,
    )
    this.#log = componentLogger(options.logger, 'peer:registry:servers')
    const publisher = checkPublisher(options.publish)
    this.#publish = publisher === undefined ? undefined : new PublishQueue(publisher, this.#log)
    this.onListenerError = (error, type) =>
      this.#log.warn('event listener threw', { type, error: errorMessage(error) })
  }

  /** Counters: publisher failures and listener errors. */
  get stats(): ServerRegistryStats {
    return { publishErrors: this.#publish?.errors ?? 0, listenerErrors: this.listenerErrors }
  }

  /** Number of registered servers. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Registers `server` under `name`. Throws {@link DuplicateServerNameError} when the name is
   * taken, {@link InvalidServerNameError} for an empty, too long or control-character name,
   * {@link InvalidPortError} for a bad `port`, {@link RegistryFullError} at `maxServers`, and a
   * {@link InvalidServerError} for a `server` that is not an object or whose closing cannot be
   * observed (an argument error: nothing is registered). With the `publish` option, the name must
   * also be a valid service name ({@link InvalidServerNameError}) and fit the published list
   * (`ServiceListTooLargeError`); the name is then published (see {@link ServerRegistryOptions.publish}).
   */
  register(name: string, server: S, opts: RegisterOptions<O> = {}): ServerEntry<S, O> {
    checkName(name)
    if (this.#entries.has(name)) throw new DuplicateServerNameError(name)
    this.#publish?.check(name)
    if (opts.port !== undefined && opts.port !== 0) checkPort(opts.port)
    if (this.#entries.size >= this.#max) throw new RegistryFullError('the server registry', this.#max)
    if (typeof server !== 'object' || server === null) {
      throw new InvalidServerError(
        `server must be an object, got ${server === null ? 'null' : typeof server}`,
      )
    }
    const entry: Entry<S, O> = {
      name,
      server,
      port: opts.port ?? 0,
      options: opts.options,
      startedAt: Date.now(),
      detach: () => {},
    }
    entry.detach = watchClose(server, () => this.#onClosed(entry))
    this.#entries.set(name, entry)
    if (entry.port === 0) entry.port = readPort(server)
    this.#log.debug('registered', { name, port: entry.port })
    this.#publish?.provide(name)
    this.emit('server:registered', { name, port: entry.port })
    return snapshot(entry)
  }

  /** The entry registered under `name`, or `undefined`. */
  lookup(name: string): ServerEntry<S, O> | undefined {
    const entry = this.#entries.get(name)
    return entry === undefined ? undefined : snapshot(entry)
  }

  /** True when a server is registered under `name`. */
  has(name: string): boolean {
    return this.#entries.has(name)
  }

  /** Every registered server, in registration order. */
  list(): ServerEntry<S, O>[] {
    return [...this.#entries.values()].map(snapshot)
  }

  /** The names of every registered server, in registration order. */
  names(): string[] {
    return [...this.#entries.keys()]
  }

  /**
   * The port of the server registered under `name`. A server started on port 0 is asked for its
   * bound port; the answer is cached after the first call. Throws {@link ServerNotFoundError} or,
   * when the server is not bound yet, {@link PortUnavailableError}.
   */
  getPort(name: string): number {
    const entry = this.#require(name)
    if (entry.port === 0) entry.port = readPort(entry.server)
    if (entry.port === 0)
      throw new PortUnavailableError(`server ${JSON.stringify(name)} has no bound port yet`)
    return entry.port
  }

  /**
   * Replaces the port recorded for `name` (after a restart on another port, say). The port must be
   * an integer in 1-65535 ({@link InvalidPortError}); the name must exist ({@link ServerNotFoundError}).
   */
  updatePort(name: string, port: number): void {
    checkPort(port)
    this.#require(name).port = port
  }

  /** The live connections of the server registered under `name` ({@link ServerNotFoundError} otherwise). */
  getConnections(name: string): ConnectionOf<S>[] {
    const { server } = this.#require(name)
    const source = typeof server.connections === 'function' ? server.connections() : server.connections
    if (typeof source !== 'object' || source === null || !(Symbol.iterator in source)) return []
    return [...source] as ConnectionOf<S>[]
  }

  /**
   * Removes the entry for `name`; the server itself is left running. Returns false when nothing
   * was registered under it.
   */
  unregister(name: string): boolean {
    const entry = this.#entries.get(name)
    if (entry === undefined) return false
    this.#remove(entry, 'unregistered')
    return true
  }

  /**
   * Removes every entry (the servers keep running) and stops watching them; with `publish`, every
   * name is unpublished (see {@link published} to wait for that).
   */
  clear(): void {
    for (const entry of [...this.#entries.values()]) this.#remove(entry, 'cleared')
  }

  /**
   * Resolves once every publisher call made so far (`publish` option) has settled; at once without
   * `publish`. Never rejects because of the publisher (failures are counted in {@link stats});
   * rejects with an `AbortError` (the signal's reason as `cause`) when `signal` aborts first.
   */
  async published(options: AbortOptions = {}): Promise<void> {
    await this.#publish?.settled(options)
  }

  /** {@link clear}: the unpublish calls are made but not awaited (`await using` awaits them). */
  [Symbol.dispose](): void {
    this.clear()
  }

  /** {@link clear}, then waits for the publisher calls it made ({@link published}). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.clear()
    await this.published()
  }

  #require(name: string): Entry<S, O> {
    const entry = this.#entries.get(name)
    if (entry === undefined) throw new ServerNotFoundError(name)
    return entry
  }

  #onClosed(entry: Entry<S, O>): void {
    // only the registered instance may remove its name: an old server closing late is ignored
    if (this.#entries.get(entry.name) !== entry) return
    this.#remove(entry, 'closed')
  }

  #remove(entry: Entry<S, O>, reason: ServerRemovedReason): void {
    if (this.#entries.get(entry.name) === entry) this.#entries.delete(entry.name)
    entry.detach()
    // only the registered instance gets here (see #onClosed): its name is free now
    this.#publish?.unprovide(entry.name)
    this.#log.debug('unregistered', { name: entry.name, reason })
    this.emit('server:unregistered', { name: entry.name, reason })
  }
}

function snapshot<S extends ServerLike, O>(entry: Entry<S, O>): ServerEntry<S, O> {
  return Object.freeze({
    name: entry.name,
    server: entry.server,
    port: entry.port,
    options: entry.options,
    startedAt: entry.startedAt,
  })
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string')
    throw new InvalidServerNameError(`server name must be a string, got ${describeValue(name)}`)
  if (name.length === 0) throw new InvalidServerNameError('server name must not be empty')
  if (name.length > MAX_SERVER_NAME_LENGTH) {
    throw new InvalidServerNameError(`server name is longer than ${MAX_SERVER_NAME_LENGTH} characters`)
  }
  if (hasControlChars(name)) throw new InvalidServerNameError('server name contains control characters')
}

function checkPort(port: unknown): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidPortError(`port must be an integer in 1-65535, got ${String(port)}`)
  }
}

/**
 * The server's bound port, or 0 when it reports none (or reading it throws, as an unbound dgram socket does).
 */
function readPort(server: ServerLike): number {
  try {
    if (typeof server.port === 'number') return validPortOrZero(server.port)
    const address = typeof server.address === 'function' ? server.address() : server.address
    if (typeof address === 'object' && address !== null) return validPortOrZero(address.port)
  } catch {
    // not bound yet
  }
  return 0
}

function validPortOrZero(port: unknown): number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : 0
}

/** Calls `onClose` once when the server closes; returns a function that stops watching. */
function watchClose(server: ServerLike, onClose: () => void): () => void {
  let done = false
  // also a promise callback and an emitter listener: it must never throw
  const fire = () => {
    if (done) return
    done = true
    try {
      onClose()
    } catch {
      // the registry's own bookkeeping; nothing a caller could handle
    }
  }
  const detachers: Array<() => void> = []
  let watched = false
  if (server.closed !== undefined && typeof server.closed?.then === 'function') {
    watched = true
    server.closed.then(fire, fire)
  }
  if (typeof server.addEventListener === 'function' && typeof server.removeEventListener === 'function') {
    watched = true
    server.addEventListener('close', fire)
    detachers.push(() => server.removeEventListener!('close', fire))
  } else if (typeof server.once === 'function' && typeof server.off === 'function') {
    watched = true
    server.once('close', fire)
    detachers.push(() => server.off!('close', fire))
  }
  if (!watched) {
    throw new InvalidServerError(
      'server must have a `closed` promise or emit a `close` event (see ServerLike)',
    )
  }
  return () => {
    done = true
    for (const d of detachers) d()
  }
}

import { type AbortOptions, assertNodeId, type LoggerFactory, throwIfAborted } from '@peer/discovery-core'
import {
  componentLoggerFactory,
  errorMessage,
  numberOption,
  warnUnknownOptions,
  whenAborted,
} from '@peer/discovery-core/internal'
import { channelOptions } from './channel-options.js'
import { type ConnectionContext, QuicConnection } from './connection.js'
import type { Engine, EngineContext, EngineName } from './engine.js'
import { selectEngine } from './engine-select.js'
import { TransportConfigError, TransportError } from './errors.js'
import { QuicListener } from './listener.js'
import { awaitPortRelease, trackPort } from './port-release.js'
import { resolveAddress } from './resolve-host.js'
import { kernelReceiveBuffers, receiveBufferShortfall } from './socket-buffers.js'
import { DEFAULT_TUNING, tuningFor } from './tuning.js'
import type {
  Connection,
  DialOptions,
  HelloSource,
  Listener,
  Transport,
  TransportAddress,
  TransportOptions,
} from './types.js'
import { MAX_HELLO_BYTES } from './wire.js'

/** Every option the constructor reads (others are warned about); a test checks it against the API report. */
const TRANSPORT_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(DEFAULT_TUNING.loopback), // TransportTuning
  'channel',
  'engine',
  'hello',
  'identity',
  'logger',
  'maxConnections',
  'maxPendingStreams',
  'maxProtocolErrors',
  'maxQueuedStreamOpens',
  'maxStreamOpensPerSecond',
  'trust',
])

/**
 * Creates a QUIC transport for one identity. The options are checked here: an invalid one (or an
 * unknown `engine`) throws `TransportConfigError`.
 *
 * ```ts
 * const transport = createTransport({ identity, trust: (id) => trustList.has(id) })
 * const listener = await transport.listen({ host: '127.0.0.1', port: 0 })
 * const connection = await transport.dial(listener.address, { expectedId: serverId })
 * ```
 */
export function createTransport(options: TransportOptions): Transport {
  return new QuicTransport(options)
}

type CountOption =
  | 'maxQueuedStreamOpens'
  | 'maxPendingStreams'
  | 'maxConnections'
  | 'maxProtocolErrors'
  | 'maxStreamOpensPerSecond'

/** An integer limit of `createTransport`'s options, validated (`TransportConfigError`). */
function count(options: TransportOptions, key: CountOption, fallback: number, min: number): number {
  return numberOption(options[key], key, fallback, { integer: true, min }, TransportConfigError)
}

/**
 * `TransportOptions.hello`, validated and copied (a caller's later change does not leak into it);
 * a `HelloSource`'s answers are checked per connection (see connection.ts).
 */
function helloOption(hello: unknown): Uint8Array | HelloSource | undefined {
  if (hello === undefined) return undefined
  if (typeof hello === 'function') return hello as HelloSource
  if (!(hello instanceof Uint8Array) || hello.byteLength > MAX_HELLO_BYTES) {
    throw new TransportConfigError(
      `createTransport: hello must be a function or a Uint8Array of at most ${MAX_HELLO_BYTES} bytes`,
      { option: 'hello' },
    )
  }
  return hello.byteLength === 0 ? undefined : hello.slice()
}

/** The QUIC transport (see {@link Transport}); `createTransport` is the usual way to make one. */
export class QuicTransport implements Transport {
  /** This node's id (that of `options.identity`). */
  readonly id: string
  /** The QUIC engine this transport runs (see `TransportOptions.engine`). */
  readonly engine: EngineName
  /** Why the engine is not the one asked for (e.g. quinn's binary does not load here). */
  readonly engineFallbackReason: string | undefined
  /** Always true: `dial` calls `DialOptions.onCommit`. */
  readonly reportsDialCommit = true as const
  readonly #engine: Engine
  readonly #options: TransportOptions
  readonly #loggerFactory: LoggerFactory
  readonly #ctx: ConnectionContext
  readonly #listeners = new Set<QuicListener>()
  readonly #outbound = new Set<QuicConnection>()
  /** One controller per dial in flight: `close()` aborts them. */
  readonly #dials = new Set<AbortController>()
  readonly #maxConnections: number
  #closed = false
  /** The receive buffer shortfall was logged (once per transport). */
  #bufferNoted = false

  constructor(options: TransportOptions) {
    warnUnknownOptions('createTransport', options, TRANSPORT_OPTION_KEYS)
    if (options?.identity === undefined) {
      throw new TransportConfigError('createTransport: identity is required', { option: 'identity' })
    }
    if (typeof options.trust !== 'function') {
      throw new TransportConfigError('createTransport: trust must be a function', { option: 'trust' })
    }
    this.#options = options
    this.id = options.identity.id
    this.#loggerFactory = componentLoggerFactory(options.logger)
    tuningFor('127.0.0.1', options) // validate the tuning now, not at the first dial
    this.#ctx = {
      logger: this.#loggerFactory('peer:transport:quic'),
      channel: Object.freeze(channelOptions(options.channel)),
      maxQueuedStreamOpens: count(options, 'maxQueuedStreamOpens', 10_000, 0),
      maxPendingStreams: count(options, 'maxPendingStreams', 1024, 0),
      preambleTimeoutMs: 10_000,
      maxProtocolErrors: count(options, 'maxProtocolErrors', 32, 0),
      maxStreamOpensPerSecond: count(options, 'maxStreamOpensPerSecond', 1000, 1),
      hello: helloOption(options.hello),
    }
    this.#maxConnections = count(options, 'maxConnections', 10_000, 0)
    const choice = selectEngine(options.engine, options.identity, this.#ctx.logger)
    this.#engine = choice.engine
    this.engine = choice.engine.name
    this.engineFallbackReason = choice.fallbackReason
    const unused = choice.engine.capabilities.ignoredTuning.filter((k) => options[k] !== undefined)
    if (unused.length > 0) {
      this.#ctx.logger.warn(
        `tuning options the ${this.engine} engine does not apply (matrixai engine only)`,
        {
          options: unused.join(', '),
        },
      )
    }
  }

  /**
   * Replaces the hello bytes (see `TransportOptions.hello`) sent on connections confirmed from now
   * on; `undefined` sends none. Throws `TransportConfigError` for anything but a `HelloSource` or
   * bytes within `MAX_HELLO_BYTES`.
   */
  setHello(hello: Uint8Array | HelloSource | undefined): void {
    this.#ctx.hello = helloOption(hello)
  }

  #engineContext(host: string): EngineContext {
    return {
      identity: this.#options.identity,
      tuning: tuningFor(host, this.#options),
      logger: this.#loggerFactory('peer:transport:quic:engine'),
      engineLogLevel: this.#options.logger === undefined ? 'silent' : 'warn',
    }
  }

  /**
   * Logs once, at `info`, when a listener's UDP receive buffer is below `socketBufferSize`: with
   * quinn when `net.core.rmem_default` is (its binding sizes only client sockets, and a listener
   * keeps the default, often 208 KiB), with matrixai when `net.core.rmem_max` caps it.
   */
  #noteReceiveBuffer(requested: number): void {
    if (this.#bufferNoted) return
    this.#bufferNoted = true
    const shortfall = receiveBufferShortfall(
      requested,
      this.#engine.capabilities.listenerSocketBuffers,
      kernelReceiveBuffers(),
    )
    if (shortfall === undefined) return
    this.#ctx.logger.info(
      `the listener's UDP receive buffer is ${shortfall.effective} bytes, below socketBufferSize ` +
        `(${requested}): datagrams that arrive while it is full are dropped (a paused process ` +
        `resumes with its peers' newest packets lost); raise it with \`${shortfall.raise}\``,
      { engine: this.engine },
    )
  }

  /**
   * Binds a listener on `address`, tuned for its path (see `tuningFor`); port 0 picks a free port
   * (see `listener.address`); a host name binds the address it resolves to (`dns.lookup`). When a
   * listener of this process that is closing still holds the port, waits until it is released (at
   * most 10 s). Rejects with `TransportError` when the transport is closed, the name does not
   * resolve or the bind fails, and with an `AbortError` when `signal` aborts (a listener bound
   * meanwhile is closed).
   */
  async listen(address: TransportAddress, options: AbortOptions = {}): Promise<Listener> {
    if (this.#closed) throw new TransportError('transport is closed')
    throwIfAborted(options.signal)
    const trust = this.#options.trust
    // a host name binds the address it resolves to (quinn takes IP literals only)
    const limit = tuningFor(address.host, this.#options).connectTimeoutMs
    const bind = await resolveAddress(address, limit, options.signal)
    const ctx = this.#engineContext(bind.host)
    // a listener of ours that closed on this port may still be releasing it
    await awaitPortRelease(bind, options.signal)
    const server = await this.#engine.listen(ctx, bind, async (id) => (await trust(id)) === true)
    this.#noteReceiveBuffer(ctx.tuning.socketBufferSize)
    const listener = new QuicListener(
      server,
      this.#ctx,
      this.#maxConnections,
      ctx.tuning.connectTimeoutMs,
      () => this.#listeners.delete(listener),
      () => port.closing(),
    )
    this.#listeners.add(listener)
    const port = trackPort(listener.address, listener.closed)
    if (options.signal?.aborted) {
      await listener.close('aborted')
      throwIfAborted(options.signal)
    }
    return listener
  }

  /**
   * Connects to the server at `address`, whose certificate must carry `options.expectedId`, and
   * resolves once the server has confirmed the connection, all within `connectTimeoutMs`. A host
   * name is resolved first (`dns.lookup`, its first answer; `localhost` is `127.0.0.1`). Rejects
   * with `PinningError` (another id), `UntrustedPeerError` (the server does not trust us),
   * `ConnectTimeoutError` (no answer, or no confirmation, within `connectTimeoutMs`),
   * `HandshakeError` (any other handshake failure), an `AbortError` when `signal` aborts, or
   * `TransportError` when the transport is or gets closed or the connect fails otherwise; with
   * `InvalidNodeIdError` for a malformed `expectedId`.
   */
  async dial(address: TransportAddress, options: DialOptions): Promise<Connection> {
    if (this.#closed) throw new TransportError('transport is closed')
    assertNodeId(options?.expectedId)
    throwIfAborted(options.signal)
    let ctx = this.#engineContext(address.host)
    // `close()` ends the dials in flight at once (not after `connectTimeoutMs`)
    const dialing = new AbortController()
    const caller = options.signal
    const off = caller && whenAborted(caller, () => dialing.abort(caller.reason))
    this.#dials.add(dialing)
    let connection: QuicConnection
    // one deadline for the whole dial: the name lookup, the handshake and the server's confirmation
    const deadline = performance.now() + ctx.tuning.connectTimeoutMs
    try {
      const target = await resolveAddress(address, ctx.tuning.connectTimeoutMs, dialing.signal)
      // tuned for the path the name leads to (a name of a loopback address gets the loopback tuning)
      if (target !== address) ctx = this.#engineContext(target.host)
      const engine = await this.#engine.dial(ctx, target, options.expectedId, dialing.signal)
      connection = new QuicConnection(engine, 'outbound', this.#ctx)
      connection.setCommit(dialing.signal, options.onCommit)
      try {
        const left = Math.max(0, deadline - performance.now())
        await connection.waitHello(left, dialing.signal, ctx.tuning.connectTimeoutMs)
      } catch (error) {
        connection.confirm(false)
        throw error
      }
    } catch (error) {
      if (this.#closed && caller?.aborted !== true) {
        throw new TransportError('transport is closed', { cause: error })
      }
      throw error
    } finally {
      this.#dials.delete(dialing)
      off?.()
    }
    this.#outbound.add(connection)
    void connection.closed.then(() => this.#outbound.delete(connection))
    if (this.#closed) {
      connection.confirm(false)
      await connection.close('transport closed')
      throw new TransportError('transport is closed')
    }
    connection.confirm(true)
    return connection
  }

  /**
   * Closes every listener and every connection this transport dialed with `reason` (default
   * `transport closed`), makes dials in flight reject at once with `TransportError`, then shuts the
   * engine down. `listen` and `dial` reject with `TransportError` from then on.
   */
  async close(reason = 'transport closed'): Promise<void> {
    this.#closed = true
    for (const dialing of this.#dials) dialing.abort(new TransportError('transport is closed'))
    const results = await Promise.allSettled([
      ...[...this.#listeners].map((l) => l.close(reason)),
      ...[...this.#outbound].map((c) => c.close(reason)),
    ])
    for (const r of results) {
      if (r.status === 'rejected') this.#ctx.logger.debug('close failed', { error: errorMessage(r.reason) })
    }
    await this.#engine.close()
  }

  /** Closes the transport, as `close()` does (reason `transport closed`); for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}

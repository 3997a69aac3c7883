// The quinn engine: Rust quinn with its UDP I/O in Rust, through the binding inside
// @chainsafe/libp2p-quic (see quinn-binding.ts). The binding speaks the libp2p TLS scheme and
// accepts any valid libp2p peer, so pinning and trust happen right after the handshake: the node
// id comes from the Ed25519 peer id at the end of `remoteMultiaddr()`, and an untrusted client is
// closed before any of its streams is accepted. The binding carries no close code, reason or
// stream reset code (it closes with 0), has no migration (its server config disables it), no
// 0-RTT, and no local port for a client: see `capabilities`.
import { abortErrorFor } from '@peer/discovery-core'
import { errorMessage, MAX_TIMER_MS } from '@peer/discovery-core/internal'
import {
  type NoticeStream,
  noticeWaitMs,
  PEER_DRAIN_MAX_MS,
  peerQuietMs,
  sendCloseNotice,
} from './close-notice.js'
import {
  ACCESS_DENIED,
  type Engine,
  type EngineConnection,
  type EngineContext,
  type EngineServer,
  type EngineStream,
} from './engine.js'
import { engineCapabilities } from './engine-capabilities.js'
import {
  type CloseInfo,
  ConnectionClosedError,
  ConnectTimeoutError,
  PinningError,
  TransportError,
} from './errors.js'
import { privateKeyProto } from './libp2p-tls.js'
import {
  addressOf,
  dialError,
  type QuinnBinding,
  type QuinnConfig,
  type QuinnConnection,
  type QuinnServer,
  type QuinnStream,
  remoteIdOf,
} from './quinn-binding.js'
import { QuinnClientPool } from './quinn-client-pool.js'
import { StreamSet, wrapStream } from './quinn-stream.js'
import type { ConnectionStats, TransportAddress } from './types.js'

/**
 * "Never" for the keepalive and the idle timeout (0 in our options), as the longest timer Node.js
 * can hold (24.8 days): quinn has no "never" for keepalive, and the binding hands an idle timeout
 * of 0 to quinn as `Some(0)`, with which a quinn server answered no client at all. Not longer: a
 * matrixai peer that itself never times out adopts our value and puts it in a Node.js timer.
 */
const NEVER_MS = MAX_TIMER_MS

// ---------------------------------------------------------------------------------------------
// connections

class QuinnEngineConnection implements EngineConnection {
  onStream: (stream: EngineStream) => void = () => {}
  readonly closed: Promise<CloseInfo>
  readonly remoteAddress: TransportAddress
  #localClose: CloseInfo | undefined
  #remoteClose: CloseInfo | undefined
  #isClosed = false
  #closing: Promise<void> | undefined
  #opening = 0
  readonly #streams = new StreamSet()

  /** The binding's connection, let go once closed (it holds the client endpoint's socket). */
  #conn: QuinnConnection | undefined
  /** The counters read as the connection closed (the binding's connection is gone then). */
  #finalStats: ConnectionStats | undefined
  /** A stream opened ahead of the first `openStream` (see `preopen`). */
  #preopened: Promise<QuinnStream> | undefined

  constructor(
    conn: QuinnConnection,
    /** `conn.remoteMultiaddr()`, read once by the caller. */
    multiaddr: string,
    readonly remoteId: string,
    readonly localAddress: TransportAddress,
    private readonly ctx: EngineContext,
    private readonly isServer: boolean,
    onClosed: () => void,
  ) {
    this.#conn = conn
    this.remoteAddress = addressOf(multiaddr)
    this.closed = conn
      .closed()
      .catch(() => {})
      .then(() => {
        this.#isClosed = true
        const info = this.#remoteClose ?? this.#localClose ?? this.#closeInfo()
        this.#finalStats = this.stats()
        // nothing of ours keeps the binding's objects (and the socket under them) alive now
        this.#conn = undefined
        this.#streams.forgetAll()
        onClosed()
        return info
      })
  }

  /**
   * Listener side: `stream` (opened as the connection arrived, while the client's id is read and
   * its trust decided) is what the first `openStream` gives: the control stream is ready once trust
   * is decided, one binding round trip sooner. quinn sends nothing for a stream until it is written,
   * so an untrusted client never sees it.
   */
  preopen(stream: Promise<QuinnStream>): void {
    this.#preopened = stream
  }

  #nextStream(conn: QuinnConnection): Promise<QuinnStream> {
    const stream = this.#preopened ?? conn.outboundStream()
    this.#preopened = undefined
    return stream
  }

  /** Starts handing the peer's streams to `onStream` (only once the connection is trusted). */
  serve(): void {
    void (async () => {
      for (;;) {
        let stream: QuinnStream
        try {
          const conn = this.#conn
          if (conn === undefined) return
          stream = await conn.inboundStream()
        } catch {
          return // the connection closed
        }
        try {
          this.onStream(wrapStream(stream, this.ctx.tuning.readChunkSize, !this.isServer, this.#streams))
        } catch (error) {
          this.ctx.logger.warn('stream handler threw', { error: errorMessage(error) })
        }
      }
    })()
  }

  #closeInfo(): CloseInfo {
    let remote = false
    try {
      remote = (this.#conn?.stats().frameRxConnectionClose ?? 0) > 0
    } catch {
      // no stats: treat as silence
    }
    if (remote) return { by: 'remote', reason: 'the peer closed the connection', code: 0, application: true }
    return { by: 'idle-timeout', reason: 'no packets from the peer within the idle timeout' }
  }

  stats(): ConnectionStats | undefined {
    try {
      const s = this.#conn?.stats()
      if (s === undefined) return this.#finalStats
      return { datagramsReceived: Number(s.udpRxDatagrams), datagramsSent: Number(s.udpTxDatagrams) }
    } catch {
      return this.#finalStats
    }
  }

  rtt(): number | undefined {
    try {
      return this.#conn?.rtt()
    } catch {
      return undefined
    }
  }

  /**
   * quinn queues opens beyond the peer's limit itself, so only opens already waiting there count:
   * once `maxStreams` of them wait, later ones queue above (bounded, abortable).
   */
  streamsLeft(): number {
    return this.#isClosed ? 0 : Math.max(0, this.ctx.tuning.maxStreams - this.#opening)
  }

  async openStream(signal?: AbortSignal): Promise<EngineStream> {
    if (this.#isClosed || this.#closing !== undefined) throw new ConnectionClosedError('connection closed')
    return this.#open(signal)
  }

  async #open(signal?: AbortSignal): Promise<EngineStream> {
    const conn = this.#conn
    if (this.#isClosed || conn === undefined) throw new ConnectionClosedError('connection closed')
    this.#opening++
    const pending = this.#nextStream(conn)
    let onAbort: (() => void) | undefined
    try {
      const stream =
        signal === undefined
          ? await pending
          : await Promise.race([
              pending,
              new Promise<never>((_, reject) => {
                onAbort = () => {
                  // a stream granted after the caller gave up is reset at once
                  pending.then((late) => wrapStream(late, 1, this.isServer).reset(0)).catch(() => {})
                  reject(abortErrorFor(signal))
                }
                if (signal.aborted) onAbort()
                else signal.addEventListener('abort', onAbort, { once: true })
              }),
            ])
      return wrapStream(stream, this.ctx.tuning.readChunkSize, this.isServer, this.#streams)
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
      if (this.#isClosed) throw new ConnectionClosedError('connection closed', undefined, { cause: error })
      throw new TransportError(`cannot open a stream: ${errorMessage(error)}`, { cause: error })
    } finally {
      this.#opening--
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * A stream for the close notice, written through the binding directly: no web streams and no
   * read side to track (the notice is one write and a finish; this showed in close profiles).
   */
  async #openNotice(): Promise<NoticeStream> {
    const conn = this.#conn
    if (this.#isClosed || conn === undefined) throw new ConnectionClosedError('connection closed')
    this.#opening++
    let stream: QuinnStream
    try {
      stream = await this.#nextStream(conn)
    } finally {
      this.#opening--
    }
    return {
      send(bytes) {
        stream
          .write(bytes)
          .then(() => stream.finishWrite())
          .catch(() => {})
      },
      reset() {
        try {
          stream.resetWrite()
        } catch {
          // already gone
        }
      },
    }
  }

  close(code: number, reason: string): Promise<void> {
    if (this.#closing === undefined) {
      const open = !this.#isClosed && this.#remoteClose === undefined
      if (open) this.#localClose = { by: 'local', reason, code, application: true }
      this.#closing = (async () => {
        if (open) {
          // our streams end first (after what was written), so the peer's reads end and it can
          // answer the notice at once instead of waiting for quiet
          this.#streams.finishWrites()
          await sendCloseNotice(
            () => this.#openNotice(),
            this.closed,
            code,
            reason,
            noticeWaitMs(this.rtt()),
            this.ctx.logger,
          )
        }
        this.#abort()
      })()
    }
    return this.#closing.then(() => this.closed).then(() => undefined)
  }

  closedByPeer(code: number, reason: string): void {
    // both sides closing at once (e.g. both dropping the same duplicate): nobody waits for an answer
    if (this.#localClose !== undefined) this.#abort()
    if (this.#localClose !== undefined || this.#remoteClose !== undefined) return
    this.#remoteClose = { by: 'remote', reason, code, application: true }
    // closing discards bytes still in flight: first let the peer's streams end (its last messages
    // before the notice), within less than the peer waits for our answer
    this.#closing ??= this.#streams
      .drained(peerQuietMs(this.rtt()), PEER_DRAIN_MAX_MS)
      .then(() => this.#abort())
  }

  #abort(): void {
    try {
      this.#conn?.abort()
    } catch {
      // already closed
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the engine

/**
 * A quinn engine for one transport. Dials go out from the client endpoints of a
 * `QuinnClientPool` (one shared endpoint, see quinn-client-pool.ts); the listener's server
 * endpoint accepts.
 */
export function createQuinnEngine(binding: QuinnBinding): Engine {
  const servers = new Set<QuinnServer>()
  let closed = false

  function config(ctx: EngineContext): QuinnConfig {
    const t = ctx.tuning
    const u32 = (n: number) => Math.min(Math.max(0, Math.floor(n)), 2 ** 32 - 1)
    return new binding.QuinnConfig({
      privateKeyProto: privateKeyProto(ctx.identity),
      handshakeTimeout: u32(t.connectTimeoutMs),
      shutdownTimeout: 1000,
      maxIdleTimeout: t.maxIdleTimeoutMs > 0 ? u32(t.maxIdleTimeoutMs) : NEVER_MS,
      keepAliveInterval: t.keepAliveIntervalMs > 0 ? u32(t.keepAliveIntervalMs) : NEVER_MS,
      maxConcurrentStreamLimit: u32(t.maxStreams),
      maxStreamData: u32(t.maxStreamWindow),
      maxConnectionData: u32(t.maxConnectionWindow),
      receiveBufferSize: u32(t.socketBufferSize),
      sendBufferSize: u32(t.socketBufferSize),
    })
  }
  const clients = new QuinnClientPool(binding, config)

  async function dial(
    ctx: EngineContext,
    address: TransportAddress,
    expectedId: string,
    signal: AbortSignal | undefined,
  ): Promise<EngineConnection> {
    if (closed) throw new TransportError('transport is closed')
    const entry = clients.acquire(ctx, address)
    const where = `${address.host}:${address.port}`
    const timeoutMs = ctx.tuning.connectTimeoutMs
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const pending = entry.client.outboundConnection(
      address.host === 'localhost' ? '127.0.0.1' : address.host,
      address.port,
    )
    let conn: QuinnConnection
    try {
      conn = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new ConnectTimeoutError(`no QUIC answer from ${where} within ${timeoutMs} ms`)),
            timeoutMs,
          )
          if (signal !== undefined) {
            onAbort = () => reject(abortErrorFor(signal))
            if (signal.aborted) onAbort()
            else signal.addEventListener('abort', onAbort, { once: true })
          }
        }),
      ])
    } catch (error) {
      // a late success is closed at once
      pending.then((late) => late.abort()).catch(() => {})
      const failure =
        error instanceof TransportError || (error as Error).name === 'AbortError'
          ? error
          : dialError(error, where)
      clients.failed(entry, address, failure instanceof ConnectTimeoutError, ctx.logger)
      throw failure
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
    let id: string | undefined
    let multiaddr = ''
    try {
      multiaddr = conn.remoteMultiaddr()
      id = remoteIdOf(multiaddr)
    } catch (error) {
      ctx.logger.debug('server presented no usable peer id', { error: errorMessage(error) })
    }
    const wrapped = new QuinnEngineConnection(conn, multiaddr, id ?? '', entry.local, ctx, false, () =>
      clients.release(entry),
    )
    if (id !== expectedId) {
      conn.abort()
      await wrapped.closed
      throw new PinningError(expectedId, id)
    }
    wrapped.serve()
    return wrapped
  }

  async function listen(
    ctx: EngineContext,
    address: TransportAddress,
    verifyClient: (id: string) => Promise<boolean>,
  ): Promise<EngineServer> {
    if (closed) throw new TransportError('transport is closed')
    let server: QuinnServer
    try {
      server = new binding.Server(
        config(ctx),
        address.host === 'localhost' ? '127.0.0.1' : address.host,
        address.port,
      )
    } catch (error) {
      throw new TransportError(`cannot listen on ${address.host}:${address.port}: ${errorMessage(error)}`, {
        cause: error,
      })
    }
    servers.add(server)
    const logger = ctx.logger
    const bound = { host: address.host, port: server.port() }
    const live = new Set<QuinnEngineConnection>()
    let stopping: Promise<void> | undefined
    const result: EngineServer = {
      address: bound,
      onConnection: () => {},
      onReject: () => {},
      stop: (reason) => {
        stopping ??= (async () => {
          await Promise.all([...live].map((c) => c.close(0, reason)))
          try {
            await server.abort()
          } catch (error) {
            logger.debug('quinn server stop failed', { error: errorMessage(error) })
          }
          servers.delete(server)
        })()
        return stopping
      },
    }
    const reject = (id: string | undefined, reason: string) => {
      try {
        result.onReject(id, reason)
      } catch {
        // the owner's handler must not break the accept loop
      }
    }
    const admit = async (conn: QuinnConnection): Promise<void> => {
      // the control stream opens while the client's id is read and its trust decided
      const control = conn.outboundStream()
      control.catch(() => {}) // a connection that closes first fails the first open instead
      let multiaddr = ''
      try {
        multiaddr = conn.remoteMultiaddr()
      } catch {
        // no address: the id check below refuses the client
      }
      const wrapped = new QuinnEngineConnection(conn, multiaddr, '', bound, ctx, true, () =>
        live.delete(wrapped),
      )
      live.add(wrapped)
      wrapped.preopen(control)
      let id: string
      try {
        id = remoteIdOf(multiaddr)
      } catch (error) {
        reject(undefined, `bad client peer id: ${errorMessage(error)}`)
        conn.abort()
        return
      }
      let trusted = false
      try {
        trusted = await verifyClient(id)
      } catch (error) {
        logger.warn('trust policy failed; refusing the client', { id, error: errorMessage(error) })
      }
      if (!trusted || stopping !== undefined) {
        reject(id, trusted ? 'listener closing' : 'untrusted client id')
        // none of its streams was accepted; the notice tells it why
        await wrapped.close(ACCESS_DENIED, 'untrusted client id')
        return
      }
      Object.defineProperty(wrapped, 'remoteId', { value: id })
      wrapped.serve()
      try {
        result.onConnection(wrapped)
      } catch (error) {
        logger.warn('connection handler threw', { error: errorMessage(error) })
      }
    }
    void (async () => {
      for (;;) {
        let conn: QuinnConnection
        try {
          conn = await server.inboundConnection()
        } catch (error) {
          if (stopping !== undefined || /server closed|endpoint/i.test(errorMessage(error))) return
          reject(undefined, `handshake failed: ${errorMessage(error)}`)
          continue
        }
        void admit(conn).catch((error) => logger.debug('admission failed', { error: errorMessage(error) }))
      }
    })()
    return result
  }

  return {
    name: 'quinn',
    capabilities: engineCapabilities.quinn,
    listen,
    dial,
    async close() {
      closed = true
      clients.close()
    },
  }
}

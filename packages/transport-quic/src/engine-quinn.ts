// The quinn engine: Rust quinn with its UDP I/O in Rust, through the binding inside
// @chainsafe/libp2p-quic (see quinn-binding.ts). The binding speaks the libp2p TLS scheme and
// accepts any valid libp2p peer, so pinning and trust happen right after the handshake: the node
// id comes from the Ed25519 peer id at the end of `remoteMultiaddr()`, and an untrusted client is
// closed before any of its streams is accepted. The binding carries no close code, reason or
// stream reset code (it closes with 0), has no migration (its server config disables it), no
// 0-RTT, and no local port for a client: see `capabilities`.
import { abortErrorFor } from '@peer/discovery-core'
import { errorMessage, MAX_TIMER_MS, whenAborted } from '@peer/discovery-core/internal'
import {
  ACCESS_DENIED,
  type Engine,
  type EngineConnection,
  type EngineContext,
  type EngineServer,
} from './engine.js'
import { engineCapabilities } from './engine-capabilities.js'
import { ConnectTimeoutError, PinningError, TransportError, withCertificateHint } from './errors.js'
import { privateKeyProto } from './libp2p-tls.js'
import {
  dialError,
  type QuinnBinding,
  type QuinnConfig,
  type QuinnConnection,
  type QuinnServer,
  remoteIdOf,
} from './quinn-binding.js'
import { QuinnClientPool } from './quinn-client-pool.js'
import { QuinnEngineConnection } from './quinn-connection.js'
import type { TransportAddress } from './types.js'

/**
 * "Never" for the keepalive and the idle timeout (0 in our options), as the longest timer Node.js
 * can hold (24.8 days): quinn has no "never" for keepalive, and the binding hands an idle timeout
 * of 0 to quinn as `Some(0)`, with which a quinn server answered no client at all. Not longer: a
 * matrixai peer that itself never times out adopts our value and puts it in a Node.js timer.
 */
const NEVER_MS = MAX_TIMER_MS

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
    let off: (() => void) | undefined
    const pending = entry.client.outboundConnection(
      address.host, // an IP literal: the transport resolved names and `localhost` (resolve-host.ts)
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
            if (signal.aborted) reject(abortErrorFor(signal))
            else off = whenAborted(signal, () => reject(abortErrorFor(signal)))
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
      off?.()
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
    // the stream of the first lane opens while the listener confirms the connection
    wrapped.preopen(conn.outboundStream())
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
        address.host, // an IP literal (resolve-host.ts)
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
      // and the stream of the node's first lane after it (opened once the control stream has its id)
      wrapped.preopen(
        control,
        control.then(() => conn.outboundStream()),
      )
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
          reject(undefined, `handshake failed: ${withCertificateHint(errorMessage(error))}`)
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

// The @matrixai/quic engine (quiche + BoringSSL, with the per-datagram loop in JavaScript): the only
// module that touches @matrixai/quic. It presents and verifies the libp2p TLS scheme, so it shares
// one wire with the quinn engine. This file: listening and dialing; matrixai-config.ts: the
// engine's configuration and certificate check; matrixai-connection.ts: connections and streams.
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'
import { errors as engineErrors, events as engineEvents, QUICClient, QUICServer } from '@matrixai/quic'
import { abortErrorFor } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import {
  ACCESS_DENIED,
  type Engine,
  type EngineConnection,
  type EngineContext,
  type EngineServer,
} from './engine.js'
import { engineCapabilities } from './engine-capabilities.js'
import {
  ConnectTimeoutError,
  HandshakeError,
  PinningError,
  TransportError,
  UntrustedPeerError,
} from './errors.js'
import { isOwnCertificate, libp2pCertificate } from './libp2p-tls.js'
import {
  BAD_CERTIFICATE,
  CERTIFICATE_REQUIRED,
  codeToReason,
  engineConfig,
  engineLogger,
  leafId,
  prepareEngine,
  reasonToCode,
  setSocketBuffers,
} from './matrixai-config.js'
import {
  decoder,
  QuicEngineConnection,
  replaceErrorHandler,
  SERVER_STOP_WAIT_MS,
} from './matrixai-connection.js'
import type { TransportAddress } from './types.js'

// ---------------------------------------------------------------------------------------------
// server

/** Starts a QUIC server. `verifyClient` decides trust by id; it never throws into the engine. */
async function engineListen(
  ctx: EngineContext,
  address: TransportAddress,
  verifyClient: (id: string) => Promise<boolean>,
): Promise<EngineServer> {
  const logger = ctx.logger
  prepareEngine(logger)
  const cert = await libp2pCertificate(ctx.identity)
  const tokenKey = randomBytes(32)
  let onReject: (id: string | undefined, reason: string) => void = () => {}
  const server = new QUICServer({
    crypto: {
      key: tokenKey.buffer.slice(tokenKey.byteOffset, tokenKey.byteOffset + tokenKey.byteLength),
      ops: {
        async sign(key: ArrayBuffer, data: ArrayBuffer) {
          const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest()
          return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength)
        },
        async verify(key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer) {
          const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest()
          const given = Buffer.from(sig)
          return given.byteLength === mac.byteLength && timingSafeEqual(mac, given)
        },
      },
    },
    config: {
      ...engineConfig(ctx, cert),
      verifyCallback: async (certs: Uint8Array[]) => {
        // never throw from here: a throw becomes an uncaught exception inside the engine
        try {
          let why = 'unparsable client certificate'
          const id = leafId(certs, (reason) => {
            why = `bad client certificate: ${reason}`
          })
          if (certs.length === 0) {
            onReject(undefined, 'no client certificate')
            return CERTIFICATE_REQUIRED
          }
          if (id === undefined) {
            onReject(undefined, why)
            return BAD_CERTIFICATE
          }
          // trust is decided right after the handshake (as on quinn, whose peers cannot read a
          // TLS alert's code): the close notice then tells the client why
          return undefined
        } catch {
          return BAD_CERTIFICATE
        }
      },
    },
    codeToReason,
    reasonToCode,
    logger: engineLogger(ctx, 'quic:server'),
  } as unknown as ConstructorParameters<typeof QUICServer>[0])

  replaceErrorHandler(
    server,
    engineEvents.EventQUICServerError.name,
    'handleEventQUICServerError',
    (error) => {
      logger.warn('engine server error; stopping the listener', { error: errorMessage(error) })
      server.dispatchEvent(
        new engineEvents.EventQUICServerClose({
          detail: error as engineErrors.ErrorQUICServerSocketNotRunning<unknown>,
        }),
      )
    },
  )

  try {
    await server.start({ host: address.host, port: address.port })
  } catch (error) {
    throw new TransportError(`cannot listen on ${address.host}:${address.port}: ${errorMessage(error)}`, {
      cause: error,
    })
  }
  setSocketBuffers(server, ctx.tuning.socketBufferSize, logger)

  const result: EngineServer = {
    address: { host: server.host, port: server.port },
    onConnection: () => {},
    set onReject(fn: (id: string | undefined, reason: string) => void) {
      onReject = (id, reason) => {
        try {
          fn(id, reason)
        } catch {
          // owner's handler must not break the handshake
        }
      }
    },
    get onReject() {
      return onReject
    },
    async stop(reason: string) {
      // bounded much longer than a connection's stop: the socket should be free when this resolves,
      // so a restart can bind the same port; but a stop stuck on zombie streams must not hang a close
      const stopping = server
        .stop({ isApp: true, errorCode: 0, reason: new TextEncoder().encode(reason), force: true })
        .then(() => true)
        .catch((error) => {
          logger.debug('engine server stop failed', { error: errorMessage(error) })
          return true
        })
      if ((await settleWithin(stopping, SERVER_STOP_WAIT_MS, { unref: true })) === undefined) {
        logger.warn('QUIC engine server stop still pending; its port stays bound until it ends')
      }
    },
  }

  server.addEventListener(engineEvents.EventQUICServerConnection.name, (event: Event) => {
    const conn = (event as engineEvents.EventQUICServerConnection).detail
    const id = leafId(conn.getRemoteCertsChain())
    const stop = (code: number, reason: Uint8Array) =>
      conn.stop({ isApp: true, errorCode: code, reason, force: true })
    if (id === undefined) {
      void stop(1, new TextEncoder().encode('no client certificate')).catch(() => {})
      return
    }
    const wrapped = new QuicEngineConnection(
      conn,
      id,
      stop,
      logger,
      isOwnCertificate(conn.getRemoteCertsChain()),
    )
    // streams of a client not yet trusted are refused, never served
    wrapped.onStream = (stream) => stream.reset(1)
    void (async () => {
      let trusted = false
      try {
        trusted = await verifyClient(id)
      } catch (error) {
        logger.warn('trust policy failed; refusing the client', { id, error: errorMessage(error) })
      }
      if (!trusted) {
        onReject(id, 'untrusted client id')
        await wrapped.close(ACCESS_DENIED, 'untrusted client id')
        return
      }
      wrapped.onStream = () => {}
      try {
        result.onConnection(wrapped)
      } catch (error) {
        logger.warn('connection handler threw', { error: errorMessage(error) })
      }
    })().catch((error) => logger.debug('admission failed', { error: errorMessage(error) }))
  })
  return result
}

// ---------------------------------------------------------------------------------------------
// client

/** Dials a QUIC server and pins its id. Maps engine failures to the package's errors. */
async function engineDial(
  ctx: EngineContext,
  address: TransportAddress,
  expectedId: string,
  signal: AbortSignal | undefined,
): Promise<EngineConnection> {
  const logger = ctx.logger
  prepareEngine(logger)
  const cert = await libp2pCertificate(ctx.identity)
  let seenId: string | undefined
  let pinFailed = false
  const config = {
    ...engineConfig(ctx, cert),
    verifyCallback: async (certs: Uint8Array[]) => {
      try {
        seenId = leafId(certs)
        if (seenId !== expectedId) {
          pinFailed = true
          return certs.length === 0 ? CERTIFICATE_REQUIRED : BAD_CERTIFICATE
        }
        return undefined
      } catch {
        pinFailed = true
        return BAD_CERTIFICATE
      }
    },
  }
  const family = address.host.includes(':') ? '::' : '0.0.0.0'
  let client: QUICClient
  try {
    const pending = QUICClient.createQUICClient(
      {
        host: address.host,
        port: address.port,
        localHost: family,
        crypto: {
          ops: {
            async randomBytes(data: ArrayBuffer) {
              randomFillSync(new Uint8Array(data))
            },
          },
        },
        config,
        codeToReason,
        reasonToCode,
        logger: engineLogger(ctx, 'quic:client'),
      } as unknown as Parameters<typeof QUICClient.createQUICClient>[0],
      { timer: ctx.tuning.connectTimeoutMs, ...(signal === undefined ? {} : { signal }) },
    )
    client = await pending
  } catch (error) {
    if (signal?.aborted) throw abortErrorFor(signal)
    throw dialError(
      error,
      address,
      expectedId,
      pinFailed ? seenId : undefined,
      pinFailed,
      ctx.tuning.connectTimeoutMs,
    )
  }
  setSocketBuffers(client, ctx.tuning.socketBufferSize, logger)
  replaceErrorHandler(
    client,
    engineEvents.EventQUICClientError.name,
    'handleEventQUICClientError',
    (error) => {
      logger.debug('engine client error', { error: errorMessage(error) })
      client.dispatchEvent(
        new engineEvents.EventQUICClientClose({
          detail: error as engineErrors.ErrorQUICConnectionLocal<unknown>,
        }),
      )
    },
  )
  const conn = client.connection
  const id = leafId(conn.getRemoteCertsChain())
  const stop = (code: number, reason: Uint8Array) =>
    client.destroy({ isApp: true, errorCode: code, reason, force: true })
  if (id !== expectedId) {
    await stop(1, new TextEncoder().encode('pinning failed')).catch(() => {})
    throw new PinningError(expectedId, id)
  }
  return new QuicEngineConnection(conn, id, stop, logger, isOwnCertificate(conn.getRemoteCertsChain()))
}

/** Turns an engine error during connect into the error a dialer should see. */
export function dialError(
  error: unknown,
  address: TransportAddress,
  expectedId: string,
  seenId: string | undefined,
  pinFailed: boolean,
  timeoutMs: number,
): Error {
  if (pinFailed) return new PinningError(expectedId, seenId, { cause: error })
  const where = `${address.host}:${address.port}`
  if (error instanceof engineErrors.ErrorQUICConnectionPeerTLS) {
    const code = error.data?.errorCode
    if (code === ACCESS_DENIED) {
      return new UntrustedPeerError(`server ${where} does not trust this node`, undefined, { cause: error })
    }
    return new HandshakeError(`server ${where} refused the handshake (TLS code ${code})`, code, {
      cause: error,
    })
  }
  if (error instanceof engineErrors.ErrorQUICConnectionLocalTLS) {
    const code = error.data?.errorCode
    return new HandshakeError(`handshake with ${where} failed (TLS code ${code})`, code, { cause: error })
  }
  if (
    error instanceof engineErrors.ErrorQUICClientCreateTimeout ||
    error instanceof engineErrors.ErrorQUICConnectionStartTimeout ||
    error instanceof engineErrors.ErrorQUICConnectionIdleTimeout
  ) {
    return new ConnectTimeoutError(`no QUIC answer from ${where} within ${timeoutMs} ms`, { cause: error })
  }
  if (error instanceof engineErrors.ErrorQUICConnectionPeer) {
    const data = error.data
    const text = data?.reason && data.reason.byteLength > 0 ? decoder.decode(data.reason) : ''
    return new HandshakeError(
      `server ${where} closed the connection during the handshake (code ${data?.errorCode}${text ? `: ${text}` : ''})`,
      data?.errorCode,
      { cause: error },
    )
  }
  return new TransportError(`cannot connect to ${where}: ${errorMessage(error)}`, { cause: error })
}

/** @internal For the peer-refused-us case detected after connect (first stream operation fails). */
export function isPeerTlsRefusal(error: unknown): number | undefined {
  if (error instanceof engineErrors.ErrorQUICConnectionPeerTLS) return error.data?.errorCode
  return undefined
}

/** The @matrixai/quic engine (stateless: every dial has its own client socket). */
export const matrixaiEngine: Engine = {
  name: 'matrixai',
  capabilities: engineCapabilities.matrixai,
  listen: engineListen,
  dial: engineDial,
  async close() {},
}

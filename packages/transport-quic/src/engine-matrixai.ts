// The @matrixai/quic engine (quiche + BoringSSL, with the per-datagram loop in JavaScript): the only
// module that touches @matrixai/quic. It presents and verifies the libp2p TLS scheme, so it shares
// one wire with the quinn engine.
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:dgram'
import Logger, { Handler, LogLevel, type LogRecord } from '@matrixai/logger'
import {
  errors as engineErrors,
  events as engineEvents,
  QUICClient,
  type QUICConnection,
  QUICServer,
  type QUICStream,
} from '@matrixai/quic'
import type { Logger as PeerLogger } from '@peer/discovery-core'
import { abortErrorFor } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { noticeWaitMs, sendCloseNotice } from './close-notice.js'
import {
  ACCESS_DENIED,
  ALPN,
  ENGINE_OBJECT,
  type Engine,
  type EngineConnection,
  type EngineContext,
  type EngineServer,
  type EngineStream,
} from './engine.js'
import { engineCapabilities } from './engine-capabilities.js'
import { applyEnginePatch, lendReads } from './engine-patch.js'
import {
  type CloseInfo,
  ConnectionClosedError,
  ConnectTimeoutError,
  HandshakeError,
  PinningError,
  StreamResetError,
  TransportError,
  UntrustedPeerError,
} from './errors.js'
import {
  isOwnCertificate,
  type Libp2pCertificate,
  libp2pCertificate,
  verifyLibp2pCertificate,
} from './libp2p-tls.js'
import type { TransportAddress } from './types.js'

/**
 * Longest wait for the engine's own stop. @matrixai/quic can take 10-20 s to stop a connection
 * whose streams it considers live (upstream issue #139, "zombie streams"), seen with quinn peers:
 * past this the close resolves and the engine finishes in the background.
 */
const STOP_WAIT_MS = 3000
/** Longest wait for the engine's server stop (see `stop` below). */
const SERVER_STOP_WAIT_MS = 10_000

/** `promise`, or undefined after `ms` (the timer does not keep the process alive). */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
      timer.unref()
    }),
  ])
}

/** TLS alert codes as QUIC crypto errors (0x100 + alert). */
const BAD_CERTIFICATE = 0x100 + 42 // 298
const CERTIFICATE_REQUIRED = 0x100 + 116 // 372

// ---------------------------------------------------------------------------------------------
// logging bridge

class BridgeHandler extends Handler {
  constructor(private readonly target: PeerLogger) {
    super()
  }
  override handle(record: LogRecord): void {
    try {
      const message = `${record.keys}: ${record.msg ?? ''}`
      if (record.level >= LogLevel.ERROR) this.target.error(message)
      else if (record.level >= LogLevel.WARN) this.target.warn(message)
      else if (record.level >= LogLevel.INFO) this.target.info(message)
      else this.target.debug(message)
    } catch {
      // a logger must never break the engine
    }
  }
  emit(): void {}
}

const LEVELS = {
  silent: LogLevel.SILENT,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
} as const

let patchReported = false

/** Applies the engine's hot-path fixes (once) before the first server or client is made. */
function prepareEngine(logger: PeerLogger): void {
  const state = applyEnginePatch()
  if (patchReported) return
  patchReported = true
  if (state.applied) logger.debug('QUIC engine hot-path patch applied')
  else logger.info('QUIC engine runs unpatched (slower)', { reason: state.reason })
}

function engineLogger(ctx: EngineContext, name: string): Logger {
  return new Logger(name, LEVELS[ctx.engineLogLevel], [new BridgeHandler(ctx.logger)])
}

// ---------------------------------------------------------------------------------------------
// configuration

function engineConfig(ctx: EngineContext, cert: Libp2pCertificate) {
  const t = ctx.tuning
  return {
    key: cert.keyPem,
    cert: cert.certPem,
    verifyPeer: true,
    applicationProtos: [ALPN],
    maxIdleTimeout: t.maxIdleTimeoutMs,
    ...(t.keepAliveIntervalMs > 0 ? { keepAliveIntervalTime: t.keepAliveIntervalMs } : {}),
    maxSendUdpPayloadSize: t.maxSendUdpPayloadSize,
    maxRecvUdpPayloadSize: t.maxRecvUdpPayloadSize,
    readableChunkSize: t.readChunkSize,
    initialMaxData: t.initialMaxData,
    initialMaxStreamDataBidiLocal: t.initialMaxStreamData,
    initialMaxStreamDataBidiRemote: t.initialMaxStreamData,
    initialMaxStreamDataUni: t.initialMaxStreamData,
    initialMaxStreamsBidi: t.maxStreams,
    initialMaxStreamsUni: 0,
    maxConnectionWindow: t.maxConnectionWindow,
    maxStreamWindow: t.maxStreamWindow,
  }
}

/** Stream error codes on the wire <-> reasons. */
const reasonToCode = (_type: 'read' | 'write', reason?: unknown): number => {
  if (reason instanceof StreamResetError) return reason.code
  return 1
}
const codeToReason = (type: 'read' | 'write', code: number): StreamResetError =>
  new StreamResetError(`peer ${type === 'read' ? 'reset' : 'stopped'} the stream (code ${code})`, code)

function setSocketBuffers(owner: unknown, size: number, logger: PeerLogger): void {
  if (size <= 0) return
  try {
    const socket = (owner as { socket?: { socket?: Socket } }).socket?.socket
    socket?.setRecvBufferSize(size)
    socket?.setSendBufferSize(size)
  } catch (error) {
    logger.debug('cannot set UDP socket buffer sizes', { error: errorMessage(error) })
  }
}

/** The node id of a verified libp2p certificate chain; undefined when it does not verify. */
function leafId(certs: readonly Uint8Array[], onError?: (reason: string) => void): string | undefined {
  const leaf = certs[0]
  if (leaf === undefined) return undefined
  try {
    return verifyLibp2pCertificate(leaf)
  } catch (error) {
    onError?.(errorMessage(error))
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// connections and streams

const decoder = new TextDecoder()

function closeInfoOf(error: unknown, localReason: { code: number; reason: string } | undefined): CloseInfo {
  if (localReason !== undefined) {
    return { by: 'local', reason: localReason.reason, code: localReason.code, application: true }
  }
  if (error instanceof engineErrors.ErrorQUICConnectionIdleTimeout) {
    return { by: 'idle-timeout', reason: 'no packets from the peer within the idle timeout', error }
  }
  const data = (error as { data?: { isApp?: boolean; errorCode?: number; reason?: Uint8Array } }).data
  const text = data?.reason && data.reason.byteLength > 0 ? decoder.decode(data.reason) : ''
  const base = { code: data?.errorCode, application: data?.isApp === true, error }
  if (
    error instanceof engineErrors.ErrorQUICConnectionPeerTLS ||
    error instanceof engineErrors.ErrorQUICConnectionPeer
  ) {
    return { by: 'remote', reason: text || errorMessage(error), ...base }
  }
  if (error instanceof engineErrors.ErrorQUICConnectionLocal) {
    return { by: 'local', reason: text || errorMessage(error), ...base }
  }
  if (error === undefined) return { by: 'local', reason: 'closed' }
  return { by: 'error', reason: errorMessage(error), ...base }
}

/**
 * The engine rethrows its "internal" errors from inside event listeners (by design: they are bugs
 * to it), which makes them uncaught exceptions that end the process. Replace those listeners on
 * each object with ones that turn the error into an orderly close instead.
 */
function replaceErrorHandler(
  target: unknown,
  eventName: string,
  handlerName: string,
  replacement: (error: unknown) => void,
): void {
  const t = target as EventTarget & Record<string, unknown>
  const original = t[handlerName]
  if (typeof original !== 'function') return
  t.removeEventListener(eventName, original as EventListener)
  t.addEventListener(eventName, (event: Event) => {
    try {
      replacement((event as Event & { detail?: unknown }).detail)
    } catch {
      // never into the engine
    }
  })
}

function wrapStream(stream: QUICStream, logger: PeerLogger): EngineStream {
  const original = (stream as unknown as { handleEventQUICStreamError(e: Event): void })
    .handleEventQUICStreamError
  replaceErrorHandler(
    stream,
    engineEvents.EventQUICStreamError.name,
    'handleEventQUICStreamError',
    (error) => {
      if (error instanceof engineErrors.ErrorQUICStreamInternal) {
        logger.warn('engine stream failed internally; destroying the stream', { error: errorMessage(error) })
        void stream.destroy({ force: true, reason: error }).catch(() => {})
        return
      }
      // the engine's own handling for everything else (close read / close write)
      original.call(
        stream,
        new engineEvents.EventQUICStreamError({
          detail: error as engineErrors.ErrorQUICStreamLocalRead<unknown>,
        }),
      )
    },
  )
  return {
    id: stream.streamId,
    readable: stream.readable as unknown as ReadableStream<Uint8Array>,
    writable: stream.writable as unknown as WritableStream<Uint8Array>,
    reset(code: number) {
      try {
        stream.cancel(new StreamResetError(`stream reset locally (code ${code})`, code))
      } catch {
        // already closed
      }
    },
    lendReads: () => lendReads(stream),
    [ENGINE_OBJECT]: stream,
  } as EngineStream
}

class QuicEngineConnection implements EngineConnection {
  onStream: (stream: EngineStream) => void = () => {}
  readonly closed: Promise<CloseInfo>
  readonly remoteId: string
  readonly localAddress: TransportAddress
  #lastError: unknown
  #localClose: { code: number; reason: string } | undefined
  #remoteClose: CloseInfo | undefined
  #stopping: Promise<void> | undefined
  #resolveClosed!: (info: CloseInfo) => void
  #closing: Promise<void> | undefined

  constructor(
    readonly conn: QUICConnection,
    remoteId: string,
    private readonly stopper: (code: number, reason: Uint8Array) => Promise<void>,
    private readonly logger: PeerLogger,
    /** The peer runs this engine too: its native close carries code and reason, no notice needed. */
    private readonly nativeClose: boolean,
  ) {
    this.remoteId = remoteId
    this.localAddress = { host: conn.localHost, port: conn.localPort }
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    replaceErrorHandler(
      conn,
      engineEvents.EventQUICConnectionError.name,
      'handleEventQUICConnectionError',
      (error) => {
        // as the engine does, minus the rethrow of internal errors: every error closes the connection
        ;(conn as unknown as { errorLast: unknown }).errorLast = error
        if (error instanceof engineErrors.ErrorQUICConnectionInternal) {
          logger.warn('engine connection failed internally; closing it', { error: errorMessage(error) })
        }
        conn.dispatchEvent(
          new engineEvents.EventQUICConnectionClose({
            detail: error as engineErrors.ErrorQUICConnectionLocal<unknown>,
          }),
        )
      },
    )
    conn.addEventListener(engineEvents.EventQUICConnectionError.name, (event: Event) => {
      const error = (event as engineEvents.EventQUICConnectionError).detail
      this.#lastError ??= error
    })
    conn.addEventListener(engineEvents.EventQUICConnectionStream.name, (event: Event) => {
      const stream = (event as engineEvents.EventQUICConnectionStream).detail
      try {
        this.onStream(wrapStream(stream, this.logger))
      } catch (error) {
        this.logger.warn('stream handler threw', { error: errorMessage(error) })
      }
    })
    const finish = () =>
      this.#resolveClosed(this.#remoteClose ?? closeInfoOf(this.#lastError, this.#localClose))
    conn.addEventListener(engineEvents.EventQUICConnectionStopped.name, finish, { once: true })
    if (conn.closed) finish()
  }

  /** The peer's current address: it changes when the peer migrates (e.g. a NAT rebinding). */
  get remoteAddress(): TransportAddress {
    return { host: this.conn.remoteHost, port: this.conn.remotePort }
  }

  rtt(): number | undefined {
    try {
      const paths = (
        this.conn as unknown as { conn: { pathStats(): Array<{ rtt: number }> } }
      ).conn.pathStats()
      const rtt = paths[0]?.rtt
      return typeof rtt === 'number' ? rtt : undefined
    } catch {
      return undefined
    }
  }

  streamsLeft(): number {
    try {
      return (this.conn as unknown as { conn: { peerStreamsLeftBidi(): number } }).conn.peerStreamsLeftBidi()
    } catch {
      return 0
    }
  }

  openStream(): EngineStream {
    try {
      return wrapStream(this.conn.newStream('bidi'), this.logger)
    } catch (error) {
      if (
        error instanceof engineErrors.ErrorQUICConnectionNotRunning ||
        error instanceof engineErrors.ErrorQUICConnectionStopping ||
        error instanceof engineErrors.ErrorQUICConnectionClosed
      ) {
        throw new ConnectionClosedError('connection closed', undefined, { cause: error })
      }
      throw new TransportError(`cannot open a stream: ${errorMessage(error)}`, { cause: error })
    }
  }

  close(code: number, reason: string): Promise<void> {
    if (this.#closing === undefined) {
      const open = this.#lastError === undefined && this.#remoteClose === undefined && !this.conn.closed
      if (open) this.#localClose = { code, reason }
      this.#closing = (async () => {
        // the notice carries code and reason to a quinn peer (whose engine ignores ours)
        if (open && !this.nativeClose) {
          await sendCloseNotice(
            () => (this.streamsLeft() > 0 ? this.openStream() : undefined),
            this.closed,
            code,
            reason,
            noticeWaitMs(this.rtt()),
            this.logger,
          )
        }
        await this.#stop(code, reason)
      })().catch((error) => {
        this.logger.debug('engine stop failed', { error: errorMessage(error) })
      })
    }
    return this.#closing.then(() => this.closed).then(() => undefined)
  }

  /** The engine's stop, bounded: past STOP_WAIT_MS the connection counts as closed. */
  #stop(code: number, reason: string): Promise<void> {
    this.#stopping ??= this.#stopOnce(code, reason)
    return this.#stopping
  }

  async #stopOnce(code: number, reason: string): Promise<void> {
    const stopped = this.stopper(code, new TextEncoder().encode(reason.slice(0, 512))).catch((error) => {
      this.logger.debug('engine stop failed', { error: errorMessage(error) })
    })
    if (
      (await bounded(
        stopped.then(() => true),
        STOP_WAIT_MS,
      )) === undefined
    ) {
      this.logger.debug('engine stop still pending; the connection counts as closed', { peer: this.remoteId })
      this.#resolveClosed(this.#remoteClose ?? closeInfoOf(this.#lastError, this.#localClose))
    }
  }

  closedByPeer(code: number, reason: string): void {
    // both sides closing at once (e.g. both dropping the same duplicate): nobody waits for an answer
    if (this.#localClose !== undefined) void this.#stop(this.#localClose.code, this.#localClose.reason)
    if (this.#localClose !== undefined || this.#remoteClose !== undefined) return
    this.#remoteClose = { by: 'remote', reason, code, application: true }
    this.#closing ??= this.#stop(0, '')
  }
}

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
      if ((await bounded(stopping, SERVER_STOP_WAIT_MS)) === undefined) {
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

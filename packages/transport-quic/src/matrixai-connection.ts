// A @matrixai/quic connection and its streams behind the engine interface: close info from the
// engine's errors, error handlers that close instead of throwing, and a close that sends the
// close notice to a quinn peer, then stops the engine's connection (bounded).
import {
  errors as engineErrors,
  events as engineEvents,
  type QUICConnection,
  type QUICStream,
} from '@matrixai/quic'
import type { Logger as PeerLogger } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import {
  noticeStreamOf,
  noticeWaitMs,
  PEER_DRAIN_MAX_MS,
  peerQuietMs,
  sendCloseNotice,
} from './close-notice.js'
import { ENGINE_OBJECT, type EngineConnection, type EngineStream } from './engine.js'
import { lendReads } from './engine-patch.js'
import { type CloseInfo, ConnectionClosedError, StreamResetError, TransportError } from './errors.js'
import { type FinConnection, FinResender } from './fin-resend.js'
import type { ConnectionStats, TransportAddress } from './types.js'

/**
 * Longest wait for the engine's own stop. @matrixai/quic can take 10-20 s to stop a connection
 * whose streams it considers live (upstream issue #139, "zombie streams"), seen with quinn peers:
 * past this the close resolves and the engine finishes in the background.
 */
const STOP_WAIT_MS = 3000
/** Longest wait for the engine's server stop (see the listener's `stop` in engine-matrixai.ts). */
export const SERVER_STOP_WAIT_MS = 10_000

// ---------------------------------------------------------------------------------------------
// connections and streams

export const decoder = new TextDecoder()

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
export function replaceErrorHandler(
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

/** A @matrixai/quic connection as an {@link EngineConnection}. */
export class QuicEngineConnection implements EngineConnection {
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
  /** The counters read as the connection stopped. */
  #finalStats: ConnectionStats | undefined
  /** Streams not yet destroyed, with their engine streams (see `close` and `closedByPeer`). */
  readonly #live = new Map<QUICStream, EngineStream>()
  /** Ends of streams written again after a loss (see fin-resend.ts). */
  readonly #ends: FinResender

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
    this.#ends = new FinResender(conn as unknown as FinConnection)
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
        this.onStream(this.#track(stream))
      } catch (error) {
        this.logger.warn('stream handler threw', { error: errorMessage(error) })
      }
    })
    const finish = () => this.#finish()
    conn.addEventListener(engineEvents.EventQUICConnectionStopped.name, finish, { once: true })
    if (conn.closed) finish()
  }

  #track(stream: QUICStream): EngineStream {
    const wrapped = wrapStream(stream, this.logger)
    this.#live.set(stream, wrapped)
    // a graceful end of our side (a failed one carries its error as detail)
    stream.addEventListener(
      engineEvents.EventQUICStreamCloseWrite.name,
      (event: Event) => {
        if ((event as engineEvents.EventQUICStreamCloseWrite).detail === undefined)
          this.#ends.ended(stream.streamId)
      },
      { once: true },
    )
    stream.addEventListener(engineEvents.EventQUICStreamDestroyed.name, () => this.#live.delete(stream), {
      once: true,
    })
    return wrapped
  }

  /**
   * Resolves once the read side of every stream has ended (the closer ended its sides after its
   * last bytes: they are all here), or nothing arrived for `quietMs` (a peer that leaves streams
   * open: what was in flight has arrived), or after `maxMs`.
   */
  #readsEnded(quietMs: number, maxMs: number): Promise<void> {
    const open = [...this.#live.keys()].filter((s) => !s.readClosed)
    if (open.length === 0) return Promise.resolve()
    const started = performance.now()
    let lastProgress = started
    let received = this.stats()?.datagramsReceived
    return new Promise((resolve) => {
      let left = open.length
      const done = () => {
        clearInterval(poll)
        for (const s of open) s.removeEventListener(engineEvents.EventQUICStreamCloseRead.name, ended)
        resolve()
      }
      const ended = () => {
        if (--left === 0) done()
      }
      const poll = setInterval(
        () => {
          const now = performance.now()
          const count = this.stats()?.datagramsReceived
          if (count !== received) {
            received = count
            lastProgress = now
          }
          if (now - lastProgress >= quietMs || now - started >= maxMs) done()
        },
        Math.max(10, quietMs / 2),
      )
      for (const s of open)
        s.addEventListener(engineEvents.EventQUICStreamCloseRead.name, ended, { once: true })
    })
  }

  /** The connection counts as closed: its counters stop here, and `closed` resolves. */
  #finish(): void {
    this.#ends.stop()
    this.#finalStats ??= this.stats()
    this.#resolveClosed(this.#remoteClose ?? closeInfoOf(this.#lastError, this.#localClose))
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

  /** quiche counts QUIC packets, not datagrams: a few more where the handshake coalesces them. */
  stats(): ConnectionStats | undefined {
    if (this.#finalStats !== undefined) return this.#finalStats
    try {
      const s = (this.conn as unknown as { conn: { stats(): { recv: number; sent: number } } }).conn.stats()
      return { datagramsReceived: s.recv, datagramsSent: s.sent }
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
      return this.#track(this.conn.newStream('bidi'))
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
        // owners that buffer (message channels) end their sides after what they buffered, so the
        // peer's reads end with our last bytes and it can answer at once; a writable nobody holds
        // ends after its queued writes (one an application holds a writer of stays open: the
        // peer's wait for quiet bounds the close)
        const handedOver: Array<Promise<void> | void> = []
        if (open) {
          for (const stream of this.#live.values()) {
            if (stream.onClosing !== undefined) handedOver.push(stream.onClosing())
            else if (!stream.writable.locked) stream.writable.close().catch(() => {})
          }
        }
        // a native close answers nothing we could wait for: what the owners buffered (e.g. sends
        // queued behind a write in progress) reaches the engine before it stops, within the time a
        // notice would wait for its answer
        if (open && this.nativeClose && handedOver.length > 0) {
          // (settled either way: an owner's failure must not keep the engine from stopping)
          await settleWithin(Promise.allSettled(handedOver), noticeWaitMs(this.rtt()), { unref: true })
        }
        // the notice carries code and reason to a quinn peer (whose engine ignores ours)
        if (open && !this.nativeClose) {
          await sendCloseNotice(
            () => (this.streamsLeft() > 0 ? noticeStreamOf(this.openStream()) : undefined),
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
      (await settleWithin(
        stopped.then(() => true),
        STOP_WAIT_MS,
        { unref: true },
      )) === undefined
    ) {
      this.logger.debug('engine stop still pending; the connection counts as closed', { peer: this.remoteId })
      this.#finish()
    }
  }

  closedByPeer(code: number, reason: string): void {
    // both sides closing at once (e.g. both dropping the same duplicate): nobody waits for an answer
    if (this.#localClose !== undefined) void this.#stop(this.#localClose.code, this.#localClose.reason)
    if (this.#localClose !== undefined || this.#remoteClose !== undefined) return
    this.#remoteClose = { by: 'remote', reason, code, application: true }
    // stopping discards bytes still in flight: first let the peer's streams end (its last messages
    // before the notice), within less than the peer waits for our answer
    this.#closing ??= this.#readsEnded(peerQuietMs(this.rtt()), PEER_DRAIN_MAX_MS).then(() =>
      this.#stop(0, ''),
    )
  }
}

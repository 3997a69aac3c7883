// One connection of the quinn engine (engine-quinn.ts): the binding's connection and its streams
// behind the engine interface, with the close notice the binding cannot carry itself (it closes
// with code 0, no reason), and the binding objects let go of once the connection closes.
import { abortErrorFor } from '@peer/discovery-core'
import { errorMessage, whenAborted } from '@peer/discovery-core/internal'
import {
  type NoticeStream,
  noticeWaitMs,
  PEER_DRAIN_MAX_MS,
  peerQuietMs,
  sendCloseNotice,
} from './close-notice.js'
import type { EngineConnection, EngineContext, EngineStream } from './engine.js'
import { type CloseInfo, ConnectionClosedError, TransportError } from './errors.js'
import { addressOf, type QuinnConnection, type QuinnStream } from './quinn-binding.js'
import { StreamSet, wrapStream } from './quinn-stream.js'
import type { ConnectionStats, TransportAddress } from './types.js'

/** @internal A quinn connection behind the engine interface. */
export class QuinnEngineConnection implements EngineConnection {
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
  /** Streams opened ahead of the first `openStream` calls (see `preopen`). */
  readonly #preopened: Array<Promise<QuinnStream>> = []

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
   * Streams opened ahead of the first `openStream` calls, used first, in order. quinn sends nothing
   * for a stream until it is written, so an untrusted peer never sees them, and their ids follow
   * the order of use (a later stream written first would make the peer accept an empty one before
   * it). Opening one costs a binding round trip (0.3 to 0.4 ms here); opened while the handshake's
   * confirmation is under way, it is ready when the first lane needs it. The listener's first is
   * its control stream (see engine-quinn.ts).
   */
  preopen(...streams: Array<Promise<QuinnStream>>): void {
    for (const stream of streams) stream.catch(() => {}) // a connection that closes first fails the open instead
    this.#preopened.push(...streams)
  }

  #nextStream(conn: QuinnConnection): Promise<QuinnStream> {
    return this.#preopened.shift() ?? conn.outboundStream()
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
    let off: (() => void) | undefined
    try {
      const stream =
        signal === undefined
          ? await pending
          : await Promise.race([
              pending,
              new Promise<never>((_, reject) => {
                const onAbort = () => {
                  // a stream granted after the caller gave up is reset at once
                  pending.then((late) => wrapStream(late, 1, this.isServer).reset(0)).catch(() => {})
                  reject(abortErrorFor(signal))
                }
                if (signal.aborted) onAbort()
                else off = whenAborted(signal, onAbort)
              }),
            ])
      return wrapStream(stream, this.ctx.tuning.readChunkSize, this.isServer, this.#streams)
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
      if (this.#isClosed) throw new ConnectionClosedError('connection closed', undefined, { cause: error })
      throw new TransportError(`cannot open a stream: ${errorMessage(error)}`, { cause: error })
    } finally {
      this.#opening--
      off?.()
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

// The receiving side of a PeerLink: the peer's lanes accepted (the first envelope says which lane a
// channel is, `hello` on the control lane), each lane's frames read, decoded and dispatched, and the
// peer's byte streams accepted.

import { setImmediate as nextTurn } from 'node:timers/promises'
import { shortId } from '@peer/discovery-core'
import { errorMessage, linkSignals } from '@peer/discovery-core/internal'
import {
  CODE,
  type Connection,
  ConnectionClosedError,
  type MessageChannel,
  type Stream,
} from '@peer/transport-quic'
import { decodeEnvelope, type Envelope } from './envelope.js'
import { MalformedEnvelopeError, PeerUnavailableError, unavailableFromClose } from './errors.js'
import type { HandlerScheduler } from './handler-scheduler.js'
import type { Inbound, Work } from './inbound.js'
import { CONTROL_LANE, LANE_COUNT } from './lanes.js'
import type { LinkHost } from './link-host.js'
import type { RateLimiter } from './rate-limiter.js'
import type { StreamRegistry } from './stream-registry.js'

/** How long a peer that finished its channel has to close the connection before we do. */
const PEER_CLOSE_GRACE_MS = 2000

/** The peer's `hello`. @internal */
export type Hello = Extract<Envelope, { kind: 'hello' }>

/** What the receiving side needs from its link. @internal */
export interface ReceiveContext {
  readonly id: string
  readonly connection: Connection
  readonly host: LinkHost
  /** The link's lifetime: aborted when it closes. */
  readonly signal: AbortSignal
  readonly inbound: Inbound
  readonly scheduler: HandlerScheduler<Work>
  readonly streams: StreamRegistry
  readonly streamOpens: RateLimiter
  /** The options of the peer's channels (frame limit, partial frame timeout). */
  channelOptions(): { maxFrameSize: number; partialFrameTimeoutMs: number }
  /** True once the link was closed. */
  closed(): boolean
  /** Closes the link with `error` (see PeerLink.close). */
  close(error: Error): void
  /** Closes the link and the connection with `reason` and `code`. */
  end(reason: string, code: number): void
  countBytes(bytes: Uint8Array): void
  malformed(error: unknown): void
  protocolError(detail: string): void
  countReceived(): void
}

/** The receiving side of one link (see the file comment). @internal */
export class LinkReceiver {
  readonly #ctx: ReceiveContext
  /** Lanes the peer opened (by lane index). */
  readonly inLanes = new Set<number>()
  readonly #reads: Array<Promise<void>> = []
  #helloReceived: ((hello: Hello) => void) | undefined
  #helloFailed: ((error: Error) => void) | undefined
  #laneOpened: (() => void) | undefined

  constructor(ctx: ReceiveContext) {
    this.#ctx = ctx
  }

  /**
   * Resolves with the peer's `hello`; rejects when the connection closes or the peer breaks the protocol
   * first.
   */
  hello(): Promise<Hello> {
    return new Promise<Hello>((resolve, reject) => {
      this.#helloReceived = resolve
      this.#helloFailed = reject
    })
  }

  /**
   * Resolves once the peer opened its first lane (its node took the connection); rejects like
   * {@link hello}. For links whose hello came with the connection.
   */
  firstLane(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#laneOpened = resolve
      this.#helloFailed = reject
    })
  }

  /** Resolves when every read loop has ended. */
  get reading(): Promise<void> {
    return Promise.all(this.#reads).then(() => {})
  }

  /** Accepts the peer's lanes: the first envelope says which lane a channel is. */
  async acceptChannels(): Promise<void> {
    const signal = this.#ctx.signal
    for (;;) {
      let channel: MessageChannel
      try {
        channel = await this.#ctx.connection.acceptChannel({ ...this.#ctx.channelOptions(), signal })
      } catch (error) {
        // the connection or the link ended; before hello, say how
        if (error instanceof ConnectionClosedError)
          this.#helloFailed?.(unavailableFromClose(this.#ctx.id, error.info))
        return
      }
      void this.#startLane(channel)
    }
  }

  async #startLane(channel: MessageChannel): Promise<void> {
    let first: Envelope
    try {
      const wait = linkSignals([this.#ctx.signal], this.#ctx.host.helloTimeout)
      let bytes: Uint8Array | undefined
      try {
        bytes = await channel.receive({ signal: wait.signal })
      } finally {
        wait.release()
      }
      if (bytes === undefined) {
        // the connection closed (say how), or the peer finished the channel before its first envelope
        const closed = channel.error instanceof ConnectionClosedError ? channel.error.info : undefined
        if (closed !== undefined) {
          this.#helloFailed?.(unavailableFromClose(this.#ctx.id, closed))
          return
        }
        this.#helloFailed?.(
          new PeerUnavailableError(this.#ctx.id, 'it finished its channel before hello', {
            reason: 'shutdown',
          }),
        )
        throw new MalformedEnvelopeError('unexpected', 'a channel ended before its first envelope')
      }
      this.#ctx.countBytes(bytes)
      first = decodeEnvelope(bytes)
    } catch (error) {
      if (error instanceof ConnectionClosedError) {
        // the connection closed: not a protocol error, say how
        this.#helloFailed?.(unavailableFromClose(this.#ctx.id, error.info))
        return
      }
      channel.reset(CODE.PROTOCOL_ERROR)
      if (this.#ctx.signal.aborted) return
      this.#ctx.malformed(error)
      this.#helloFailed?.(
        new PeerUnavailableError(
          this.#ctx.id,
          `its first message is not a valid hello: ${errorMessage(error)}`,
          {
            cause: error,
            reason: 'protocol-error',
          },
        ),
      )
      return
    }
    if (first.kind !== 'hello' && first.kind !== 'lane') {
      this.#ctx.malformed(new MalformedEnvelopeError('unexpected', `expected hello, got ${first.kind}`))
      this.#helloFailed?.(
        new PeerUnavailableError(this.#ctx.id, `its first message is ${first.kind}, not hello`, {
          reason: 'protocol-error',
        }),
      )
    }
    const lane = first.kind === 'hello' ? CONTROL_LANE : first.kind === 'lane' ? first.id - 1 : -1
    if (lane < 0 || lane >= LANE_COUNT || this.inLanes.has(lane)) {
      channel.reset(CODE.PROTOCOL_ERROR)
      this.#ctx.malformed(
        new MalformedEnvelopeError(
          'unexpected',
          `a channel opened with ${first.kind} ${'id' in first ? first.id : ''}`,
        ),
      )
      return
    }
    this.inLanes.add(lane)
    if (this.#laneOpened !== undefined) {
      this.#laneOpened()
      this.#laneOpened = undefined
      this.#helloFailed = undefined
    }
    if (first.kind === 'hello') {
      this.#ctx.countReceived()
      this.#helloReceived?.(first)
      this.#helloFailed = undefined
    }
    const reading = this.#readLoop(channel, lane)
    this.#reads.push(reading)
    await reading
  }

  /** Accepts the peer's byte streams (at most `maxStreamOpensPerSecond` opens a second). */
  async acceptStreams(): Promise<void> {
    const signal = this.#ctx.signal
    for (;;) {
      let stream: Stream
      try {
        stream = await this.#ctx.connection.acceptStream({ signal })
      } catch {
        return
      }
      if (!this.#ctx.streamOpens.take()) {
        stream.reset(CODE.LIMIT_EXCEEDED)
        this.#ctx.protocolError(
          `more than ${this.#ctx.host.maxStreamOpensPerSecond} byte stream opens per second`,
        )
        continue
      }
      this.#ctx.streams.accept(stream).catch((error: unknown) =>
        this.#ctx.host.log.warn('byte stream failed', {
          peer: shortId(this.#ctx.id),
          error: errorMessage(error),
        }),
      )
    }
  }

  async #readLoop(channel: MessageChannel, lane: number): Promise<void> {
    const signal = this.#ctx.signal
    // a data lane yields the event loop after this many bytes: its queued frames are handed out
    // without a macrotask in between, so a backlog would otherwise run ahead of every other lane's
    // I/O (the control lane's pings and answers wait behind the whole backlog)
    const budget = lane === CONTROL_LANE ? Infinity : this.#ctx.host.maxLaneBytesPerTurn
    let spent = 0
    for (;;) {
      if (spent >= budget) {
        spent = 0
        await nextTurn()
      }
      // every message the channel holds at once (one await per read from the peer, not per message)
      let batch: Uint8Array[] | undefined
      try {
        batch = await channel.receiveBatch({ signal })
      } catch (error) {
        if (error instanceof ConnectionClosedError) {
          // the connection closed: say how (lost, replaced, the peer stopping, a protocol error)
          this.#ctx.close(unavailableFromClose(this.#ctx.id, error.info))
          return
        }
        if (!signal.aborted) {
          // a broken channel (oversized, truncated or stalled frame, reset) ends the connection
          this.#ctx.host.log.warn('peer channel failed: closing the connection', {
            peer: shortId(this.#ctx.id),
            error: errorMessage(error),
          })
          this.#ctx.end(`protocol error: ${errorMessage(error)}`.slice(0, 200), CODE.PROTOCOL_ERROR)
        }
        return
      }
      if (this.#ctx.closed()) return
      if (batch === undefined) {
        // a graceful close of the connection (by either side) ends the channel quietly: say how
        const closed = channel.error instanceof ConnectionClosedError ? channel.error.info : undefined
        if (closed !== undefined) {
          this.#ctx.close(unavailableFromClose(this.#ctx.id, closed))
          return
        }
        if (lane !== CONTROL_LANE) return
        // the peer finished its control lane: it is stopping, or closing the connection (a
        // closing transport ends its streams before the close notice), and nothing more comes on
        // this lane. Its close says why (e.g. a protocol error): wait for it, within the grace
        // period; a peer that does not close by then counts as stopping, and we close ourselves.
        const connection = this.#ctx.connection
        const timer = setTimeout(() => {
          this.#ctx.close(new PeerUnavailableError(this.#ctx.id, 'it is stopping', { reason: 'shutdown' }))
          this.#ctx.end('peer finished its channel', CODE.NO_ERROR)
        }, PEER_CLOSE_GRACE_MS)
        timer.unref()
        void connection.closed.then((info) => {
          clearTimeout(timer)
          this.#ctx.close(unavailableFromClose(this.#ctx.id, info))
        })
        return
      }
      for (let i = 0; i < batch.length; i++) {
        if (spent >= budget) {
          spent = 0
          await nextTurn()
          if (this.#ctx.closed()) return
        }
        const bytes = batch[i] as Uint8Array
        this.#ctx.countBytes(bytes)
        spent += bytes.byteLength
        let envelope: Envelope
        try {
          envelope = decodeEnvelope(bytes)
        } catch (error) {
          this.#ctx.malformed(error)
          if (this.#ctx.closed()) return
          continue
        }
        this.#ctx.inbound.dispatch(envelope, lane)
        // answers keep flowing while handlers are busy; only this lane's full backlog pauses it
        const room = this.#ctx.scheduler.room(lane)
        if (room !== undefined) {
          await room
          if (this.#ctx.closed()) return
        }
      }
    }
  }
}

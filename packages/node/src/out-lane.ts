import type { MessageChannel } from '@peer/transport-quic'
import { SENT } from '@peer/transport-quic/internal'
import { releaseEnvelope } from './envelope-bytes.js'
import { TooManyRequestsError, unavailableFrom } from './errors.js'

/** What an outgoing lane needs from its link. @internal */
export interface OutLaneHost {
  /** The peer's node id (for errors). */
  readonly peer: string
  /** Opens the lane's channel (and writes its `lane` envelope). */
  openChannel(lane: number): Promise<MessageChannel>
  /** Counts an envelope handed to the transport. */
  countSent(bytes: number): void
  /** Envelopes queued on one lane before `send` fails with `TooManyRequestsError`. */
  readonly maxQueued: number
  /** `msg` envelopes written on one lane and not acknowledged before writing waits for acks. */
  readonly maxUnacked: number
  /** Why the link is closed, or undefined while it is open. */
  closedError(): Error | undefined
}

/**
 * One outgoing lane: a message channel opened on first use, a serial write queue (envelopes are
 * written in call order) bounded by `maxQueued`, and the delivery record of the `msg` envelopes
 * written on it: runs of `[topic, count]` waiting for the peer's `ack`, bounded by `maxUnacked`
 * (writing waits while the peer has not acknowledged that many). When the link ends, what was
 * never acknowledged is the lane's dropped messages.
 * @internal
 */
export class OutLane {
  readonly index: number
  readonly #host: OutLaneHost
  #channel: MessageChannel | undefined
  #opening: Promise<void> | undefined
  #queued = 0
  #tail: Promise<void> = Promise.resolve()
  readonly #runs: Array<{ topic: string; count: number }> = []
  #unacked = 0
  readonly #ackWaiters: Array<() => void> = []
  readonly #onIdle: () => void
  /** Bytes of `msg` envelopes written and not acknowledged (tracked when there is a window). */
  readonly #window: (() => number) | undefined
  readonly #sizes: number[] = []
  #sizesHead = 0
  #unackedBytes = 0

  /**
   * `window` (asked before each write) bounds the bytes in flight on the lane (at least one
   * message always goes): bulk lanes use it so they cannot fill the path's queues ahead of other
   * lanes' traffic.
   */
  constructor(index: number, host: OutLaneHost, onIdle: () => void, window?: () => number) {
    this.index = index
    this.#host = host
    this.#onIdle = onIdle
    this.#window = window
  }

  /** The lane's channel, once open. */
  get channel(): MessageChannel | undefined {
    return this.#channel
  }

  /** Uses an already open channel (the control lane, opened with `hello`). */
  attach(channel: MessageChannel): void {
    this.#channel = channel
  }

  /**
   * Opens the lane's channel now, in the background, instead of on its first envelope (the control
   * lane when the hello came with the connection: answers then find it open). A failure shows on
   * the lane's next write.
   */
  open(): void {
    if (this.#channel !== undefined || this.#opening !== undefined) return
    this.#opening = this.#openChannel()
    this.#opening.catch(() => {})
  }

  /** Opens the channel; a failure says the peer is unavailable, and how (never a transport error). */
  #openChannel(): Promise<void> {
    return this.#host.openChannel(this.index).then(
      (channel) => {
        this.#channel = channel
      },
      (error: unknown) => {
        throw unavailableFrom(this.#host.peer, error, this.#host.closedError(), 'opening a lane')
      },
    )
  }

  /** True when nothing waits to be written and every message written was acknowledged. */
  get idle(): boolean {
    return this.#queued === 0 && this.#unacked === 0
  }

  /** Envelopes waiting to be written (or being written). */
  get queued(): number {
    return this.#queued
  }

  /** Messages written and not acknowledged yet. */
  get unacked(): number {
    return this.#unacked
  }

  /**
   * Queues an encoded envelope behind the earlier ones of this lane; resolves once the transport
   * buffered it. `msgTopic` marks a `msg` envelope (tracked until acknowledged).
   */
  enqueue(bytes: Uint8Array, msgTopic?: string): Promise<void> {
    const closed = this.#host.closedError()
    if (closed !== undefined) return Promise.reject(closed)
    if (this.#queued >= this.#host.maxQueued) {
      return Promise.reject(
        new TooManyRequestsError(this.#host.peer, 'queued messages', this.#host.maxQueued),
      )
    }
    this.#queued++
    const now =
      this.#queued === 1 &&
      this.#channel !== undefined &&
      (msgTopic === undefined || this.#hasRoom(bytes.byteLength))
    if (now) {
      const written = this.#write(bytes, msgTopic)
      // buffered, nothing to wait for (the common case of a busy sender): no promise of our own,
      // and the next envelope may go at once too (the tail is settled: nothing else was queued)
      if (written === SENT) {
        this.#dequeued()
        return SENT
      }
      this.#tail = written.then(this.#dequeued, this.#dequeued)
      return written
    }
    const written = this.#tail.then(() => this.#writeLater(bytes, msgTopic))
    this.#tail = written.then(this.#dequeued, this.#dequeued)
    return written
  }

  /** The peer acknowledged `count` more messages of this lane. Returns false for an impossible ack. */
  ack(count: number): boolean {
    if (count > this.#unacked) return false
    this.#unacked -= count
    if (this.#window !== undefined) {
      for (let i = 0; i < count; i++) this.#unackedBytes -= this.#sizes[this.#sizesHead++]!
      if (this.#sizesHead > 1024 && this.#sizesHead * 2 > this.#sizes.length) {
        this.#sizes.splice(0, this.#sizesHead)
        this.#sizesHead = 0
      }
    }
    let left = count
    while (left > 0) {
      const run = this.#runs[0]!
      const take = Math.min(run.count, left)
      run.count -= take
      left -= take
      if (run.count === 0) this.#runs.shift()
    }
    // writes are serial: at most one waits; it checks its room again
    for (const wake of this.#ackWaiters.splice(0)) wake()
    if (this.idle) this.#onIdle()
    return true
  }

  /**
   * Ends the lane: wakes what waits (it then fails with the link's error) and returns the messages
   * written and never acknowledged, per topic. Called once, by the link.
   */
  close(): Map<string, number> {
    for (const wake of this.#ackWaiters.splice(0)) wake()
    const dropped = new Map<string, number>()
    for (const run of this.#runs.splice(0)) {
      if (run.count > 0) dropped.set(run.topic, (dropped.get(run.topic) ?? 0) + run.count)
    }
    this.#unacked = 0
    this.#sizes.length = 0
    this.#sizesHead = 0
    this.#unackedBytes = 0
    return dropped
  }

  /** Flushes and finishes the lane's channel. */
  async finish(): Promise<void> {
    await this.#tail
    await this.#channel?.close()
  }

  readonly #dequeued = (): void => {
    this.#queued--
    if (this.idle) this.#onIdle()
  }

  #hasRoom(bytes: number): boolean {
    if (this.#unacked >= this.#host.maxUnacked) return false
    return (
      this.#window === undefined || this.#unackedBytes === 0 || this.#unackedBytes + bytes <= this.#window()
    )
  }

  async #writeLater(bytes: Uint8Array, msgTopic: string | undefined): Promise<void> {
    if (this.#channel === undefined) {
      this.#opening ??= this.#openChannel()
      await this.#opening
    }
    while (
      msgTopic !== undefined &&
      !this.#hasRoom(bytes.byteLength) &&
      this.#host.closedError() === undefined
    ) {
      await new Promise<void>((resolve) => this.#ackWaiters.push(resolve))
    }
    await this.#write(bytes, msgTopic)
  }

  #write(bytes: Uint8Array, msgTopic: string | undefined): Promise<void> {
    const closed = this.#host.closedError()
    if (closed !== undefined) return Promise.reject(closed)
    const channel = this.#channel!
    let sent: Promise<void>
    try {
      sent = channel.send(bytes)
    } catch (error) {
      sent = Promise.reject(error)
    }
    // the channel copied the envelope (or refused it): a large one's buffer serves the next
    releaseEnvelope(bytes)
    if (msgTopic !== undefined) this.#track(msgTopic, bytes.byteLength)
    this.#host.countSent(bytes.byteLength)
    if (sent === SENT) return SENT
    return sent.catch((error: unknown) => {
      // the caller learns of this one: it was not accepted, so it is not counted as dropped
      if (msgTopic !== undefined) this.#untrackLast()
      throw unavailableFrom(this.#host.peer, error, this.#host.closedError(), 'sending')
    })
  }

  #track(topic: string, bytes: number): void {
    this.#unacked++
    if (this.#window !== undefined) {
      this.#sizes.push(bytes)
      this.#unackedBytes += bytes
    }
    const last = this.#runs[this.#runs.length - 1]
    if (last !== undefined && last.topic === topic) last.count++
    else this.#runs.push({ topic, count: 1 })
  }

  #untrackLast(): void {
    const last = this.#runs[this.#runs.length - 1]
    if (last === undefined || this.#unacked === 0) return
    this.#unacked--
    if (this.#window !== undefined && this.#sizes.length > this.#sizesHead) {
      this.#unackedBytes -= this.#sizes.pop()!
    }
    if (--last.count === 0) this.#runs.pop()
  }
}

import { shortId, throwIfAborted } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import { CODE, type Connection, type MessageChannel } from '@peer/transport-quic'
import { AckBatcher } from './ack-batcher.js'
import { type Envelope, encodeEnvelope } from './envelope.js'
import { NodeStoppedError, PeerUnavailableError } from './errors.js'
import { HandlerScheduler } from './handler-scheduler.js'
import { Inbound, type Work } from './inbound.js'
import { BULK_LANE_SET, bulkWindow, CONTROL_LANE, LANE_COUNT, laneOf, type Priority } from './lanes.js'
import { linkHello } from './link-hello.js'
import type { LinkHost } from './link-host.js'
import { linkInfo } from './link-info.js'
import { emptyPeerStats } from './link-util.js'
import { LivenessProbe, PROBE_PING_ID, type ProbeOutcome } from './liveness-probe.js'
import { LinkReceiver } from './peer-link-receive.js'

export type { LinkHost } from './link-host.js'

import { OutLane } from './out-lane.js'
import { ProtocolErrors } from './protocol-errors.js'
import { RateLimiter } from './rate-limiter.js'
import { RequestTable } from './request-table.js'
import { STALL_PING_ID, StallWatch } from './stall-watch.js'
import { type PeerStream, StreamRegistry } from './stream-registry.js'
import type { PeerInfo, PeerStats } from './types.js'

/**
 * Messages written on one lane and not yet acknowledged before writing waits for acks: a record of
 * at most this many entries per lane (topic and count), never the payloads.
 */
export const MAX_UNACKED = 65_536

/**
 * One trusted peer's messaging session on one connection. Each side opens up to
 * {@link LANE_COUNT} message channels (lanes; the control lane with `hello` first, the others on
 * first use), so topics do not wait for each other; the pieces: outgoing lanes ({@link OutLane}),
 * the requests in flight ({@link RequestTable}), per-lane handler scheduling
 * ({@link HandlerScheduler}), delivery acknowledgements ({@link AckBatcher}) and byte streams
 * ({@link StreamRegistry}). A peer that breaks the protocol more than `maxProtocolErrors` times
 * is disconnected with an application error code.
 * @internal
 */
export class PeerLink {
  readonly id: string
  readonly connection: Connection
  readonly direction: 'inbound' | 'outbound'
  name: string | undefined
  upSince = 0
  readonly stats: PeerStats = emptyPeerStats()

  readonly #host: LinkHost
  readonly #lifetime = new AbortController()
  readonly #idleWaiters = new Set<() => void>()
  readonly #requests: RequestTable
  readonly #lanes: OutLane[]
  readonly #scheduler: HandlerScheduler<Work>
  readonly #acks: AckBatcher
  readonly #streams: StreamRegistry
  readonly #streamOpens: RateLimiter
  readonly #inbound: Inbound
  readonly #receiver: LinkReceiver
  readonly #probe: LivenessProbe
  readonly #errors: ProtocolErrors
  #closedError: Error | undefined
  #stallWatch: StallWatch | undefined
  #pingRtt: number | undefined
  #minRtt = Infinity
  #maxSend: number

  constructor(connection: Connection, direction: 'inbound' | 'outbound', host: LinkHost) {
    this.id = connection.remoteId
    this.connection = connection
    this.direction = direction
    this.#host = host
    this.#maxSend = host.maxMessageSize
    const idle = () => this.#checkIdle()
    this.#errors = new ProtocolErrors(
      this.id,
      this.stats,
      host,
      () => this.#closedError !== undefined,
      (reason, code) => this.#end(reason, code),
    )
    this.#requests = new RequestTable(this.id, host.maxInFlightRequests, idle, () => {
      this.stats.timeouts++
      // a request or ping that got no answer: is the peer still there? (see probe)
      host.suspect(this, 'request-timeout')
    })
    this.#probe = new LivenessProbe(() => this.#control({ kind: 'ping', id: PROBE_PING_ID }))
    const laneHost = {
      peer: this.id,
      openChannel: (lane: number) => this.#openLane(lane),
      countSent: (bytes: number) => {
        this.stats.messagesSent++
        this.stats.bytesSent += bytes
        host.stats.messagesSent++
        host.stats.bytesSent += bytes
      },
      maxQueued: host.maxQueuedMessages,
      maxUnacked: MAX_UNACKED,
      closedError: () => (this.#closedError === undefined ? undefined : this.#unavailable()),
    }
    this.#lanes = Array.from(
      { length: LANE_COUNT },
      (_, i) => new OutLane(i, laneHost, idle, BULK_LANE_SET.has(i) ? () => this.#bulkWindow() : undefined),
    )
    this.#scheduler = new HandlerScheduler<Work>(
      LANE_COUNT,
      host.maxConcurrentHandlers,
      host.maxQueuedMessages,
      (work, lane) => this.#inbound.work(work, lane),
      idle,
    )
    this.#acks = new AckBatcher(
      LANE_COUNT,
      (lane, count) => this.#control({ kind: 'ack', id: lane + 1, count }),
      BULK_LANE_SET,
    )
    const link = this
    this.#inbound = new Inbound({
      id: this.id,
      get name() {
        return link.name
      },
      host,
      stats: this.stats,
      signal: this.#lifetime.signal,
      requests: this.#requests,
      scheduler: this.#scheduler,
      acks: this.#acks,
      maxSend: () => this.#maxSend,
      ack: (lane, count) => this.#lanes[lane]?.ack(count) ?? false,
      control: (envelope, bytes) => this.#control(envelope, bytes),
      enqueueOnTopicLane: (topic, bytes) => this.#lanes[this.#laneOf(topic, undefined)]!.enqueue(bytes),
      malformed: (error) => this.#errors.malformed(error),
      countReceived: () => this.#countReceived(),
      unexpected: () => this.#unexpected(),
      probeAnswered: () => this.#probe.answered(),
    })
    this.#streams = new StreamRegistry({
      peer: this.id,
      peerName: () => this.name,
      streamHandler: (topic) => host.streamHandler(topic),
      stopping: () => host.stopping(),
      maxStreams: host.maxByteStreams,
      headerTimeoutMs: host.helloTimeout,
      log: host.log,
      protocolError: (detail) => this.#errors.breach(detail),
      handlerFailed: (topic, error) => {
        host.stats.handlerErrors++
        host.handlerFailed(this, topic, 'stream', error)
      },
      signal: this.#lifetime.signal,
    })
    this.#streamOpens = new RateLimiter(host.maxStreamOpensPerSecond)
    this.#receiver = new LinkReceiver({
      id: this.id,
      connection,
      host,
      signal: this.#lifetime.signal,
      inbound: this.#inbound,
      scheduler: this.#scheduler,
      streams: this.#streams,
      streamOpens: this.#streamOpens,
      channelOptions: () => this.#channelOptions(),
      closed: () => this.#closedError !== undefined,
      close: (error) => this.close(error),
      end: (reason, code) => this.#end(reason, code),
      countBytes: (bytes) => this.#countBytes(bytes),
      malformed: (error) => this.#errors.malformed(error),
      protocolError: (detail) => this.#errors.breach(detail),
      countReceived: () => this.#countReceived(),
    })
  }

  /** True once the link was closed (connection gone or node stopping). */
  get closed(): boolean {
    return this.#closedError !== undefined
  }

  /** Resolves when every read loop has ended. */
  get reading(): Promise<void> {
    return this.#receiver.reading
  }

  /**
   * Learns the peer's `hello` (see link-hello.ts) within `helloTimeout`, then serves the peer's
   * lanes and byte streams.
   */
  async open(): Promise<void> {
    const hello = await linkHello({
      id: this.id,
      connection: this.connection,
      host: this.#host,
      receiver: this.#receiver,
      control: this.#lanes[CONTROL_LANE]!,
      lifetime: this.#lifetime.signal,
      openChannel: (signal) => this.connection.openChannel(this.#channelOptions(signal)),
      malformed: (error) => this.#errors.malformed(error),
    })
    this.name = hello.name
    // never send the peer more than it accepts (its frame limit would reset the channel)
    this.#maxSend = Math.min(this.#host.maxMessageSize, hello.maxMessageSize ?? this.#host.maxMessageSize)
    this.upSince = Date.now()
    void this.#receiver.acceptStreams()
    if (this.#closedError === undefined) this.#watchStalls()
  }

  /** True while the link is stalled (see {@link StallWatch}) and nothing arrived since. */
  get stalled(): boolean {
    return this.#stallWatch?.suspect === true
  }

  /** Aborts when the link is next reported stalled (see {@link StallWatch.nextStall}). */
  nextStall(): AbortSignal | undefined {
    return this.#stallWatch?.nextStall()
  }

  #watchStalls(): void {
    const lanes = this.#lanes
    this.#stallWatch = new StallWatch(
      {
        received: () => this.stats.bytesReceived,
        waiting: () => this.#requests.size > 0 || this.#probe.probing || lanes.some((l) => !l.idle),
        ping: () => this.#control({ kind: 'ping', id: STALL_PING_ID }),
        stalled: (recovered) => this.#host.stalled(this, recovered),
      },
      this.#host.stallTimeoutMs,
    )
  }

  /**
   * For picking a provider: the requests and pings in flight, how long answers take at best (see
   * `RequestTable.latency`; 0 before the eighth answer), and whether the link is stalled now.
   */
  load(): { inFlight: number; latency: number; stalled: boolean } {
    return { inFlight: this.#requests.size, latency: this.#requests.latency(), stalled: this.stalled }
  }

  /** The last ping's RTT, else the transport's. */
  #rtt(): number | undefined {
    return this.#pingRtt ?? this.#transportRtt()
  }

  /** The transport's RTT estimate, `undefined` once the connection is gone. */
  #transportRtt(): number | undefined {
    try {
      return this.connection.rtt
    } catch {
      return undefined
    }
  }

  /** A snapshot for `peers()`. */
  info(fallbackName: string | undefined): PeerInfo {
    return linkInfo({
      id: this.id,
      name: this.name ?? fallbackName,
      direction: this.direction,
      address: this.connection.remoteAddress,
      upSince: this.upSince,
      stats: this.stats,
      inFlight: this.#requests.size,
      rtt: this.#rtt(),
      byteStreams: this.#streams.size,
      lanes: this.#lanes,
      inLanes: this.#receiver.inLanes,
    })
  }

  /** Sends a fire-and-forget message on its topic's lane; resolves once the transport buffered it. */
  send(topic: string, payload: unknown, priority: Priority | undefined): Promise<void> {
    try {
      const bytes = encodeEnvelope({ kind: 'msg', topic, payload }, this.#maxSend)
      return this.#lanes[this.#laneOf(topic, priority)]!.enqueue(bytes, topic)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Sends a request on its topic's lane and waits for its answer. */
  request(
    topic: string,
    payload: unknown,
    timeout: number,
    signal: AbortSignal | undefined,
    priority: Priority | undefined,
  ): Promise<unknown> {
    throwIfAborted(signal)
    if (this.#closedError !== undefined) throw this.#unavailable()
    const id = this.#requests.allocate()
    const bytes = encodeEnvelope({ kind: 'req', topic, id, payload }, this.#maxSend)
    this.stats.requestsSent++
    const lane = this.#lanes[this.#laneOf(topic, priority)]!
    return this.#requests.wait('req', id, topic, timeout, signal, () => lane.enqueue(bytes))
  }

  /** Measures the application round-trip time (ms) with a ping envelope on the control lane. */
  async ping(timeout: number, signal: AbortSignal | undefined): Promise<number> {
    throwIfAborted(signal)
    if (this.#closedError !== undefined) throw this.#unavailable()
    const id = this.#requests.allocate()
    const started = performance.now()
    const bytes = encodeEnvelope({ kind: 'ping', id }, Infinity)
    await this.#requests.wait('ping', id, '', timeout, signal, () =>
      this.#lanes[CONTROL_LANE]!.enqueue(bytes),
    )
    const rtt = performance.now() - started
    this.#pingRtt = rtt
    return rtt
  }

  /**
   * Probes the peer's liveness: a ping on the control lane (reserved id), answered within
   * `probeTimeoutMs` or four round-trip times, whichever is longer. At most one probe is in flight:
   * while one waits, this joins it (`started` false) and sends nothing. `closed` when the link
   * ended first.
   */
  probe(): { started: boolean; timeoutMs: number; outcome: Promise<ProbeOutcome> } {
    const rtt = this.#transportRtt()
    const timeoutMs = Math.ceil(
      Math.max(this.#host.probeTimeoutMs, 4 * (rtt !== undefined && rtt > 0 ? rtt : 0)),
    )
    return { ...this.#probe.probe(timeoutMs), timeoutMs }
  }

  /** True while a liveness probe waits for its answer. */
  get probing(): boolean {
    return this.#probe.probing
  }

  /** Opens a byte stream to the peer on `topic`. */
  openStream(topic: string, signal: AbortSignal | undefined): Promise<PeerStream> {
    if (this.#closedError !== undefined) return Promise.reject(this.#unavailable())
    return this.#streams.open(this.connection, topic, signal)
  }

  /**
   * True while work is in flight: a request or ping waits, a handler runs or waits, a message
   * waits to be sent or confirmed, or a byte stream is open.
   */
  get busy(): boolean {
    return !this.#idle() || this.#streams.size > 0
  }

  /** Grows with every envelope and byte sent or received: a change means the link was used. */
  get activity(): number {
    const s = this.stats
    return s.messagesSent + s.messagesReceived + s.bytesSent + s.bytesReceived
  }

  /**
   * Resolves when no request is in flight, no handler runs, nothing waits to be sent and every
   * message sent was acknowledged.
   */
  whenIdle(): Promise<void> {
    // a waiter (a stopping node) wants the acknowledgements of what our handlers got sent now,
    // not after ACK_DELAY_MS: they count as waiting to be sent until the control lane wrote them
    // (it may still be opening: an inbound link opens it as it comes up, while the peer's first
    // messages are handled; acks queued behind it when the link closed were lost, and the peer
    // counted every message it had sent as dropped)
    this.#acks.flush()
    if (this.#idle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.add(resolve))
  }

  /**
   * Ends the link: every request in flight fails with `error`, handlers see their signal abort,
   * byte streams are reset, messages never acknowledged are reported dropped, and nothing more is
   * sent or dispatched. Idempotent.
   */
  close(error: Error): void {
    if (this.#closedError !== undefined) return
    // confirm what our handlers got before the lanes close (a stopping node's last acks)
    this.#acks.flush()
    this.#closedError = error
    this.#lifetime.abort(error)
    this.#stallWatch?.close()
    this.#probe.close()
    this.#requests.failAll(this.#unavailable())
    this.#scheduler.close()
    this.#acks.close()
    this.#streams.closeAll()
    for (const lane of this.#lanes) {
      for (const [topic, count] of lane.close()) {
        this.stats.messagesDropped += count
        this.#host.stats.messagesDropped += count
        this.#host.dropped(this, topic, count)
      }
    }
    this.#checkIdle()
  }

  /** Sends pending acknowledgements, flushes and finishes our lanes (bounded by `ms`). */
  async finish(ms: number): Promise<void> {
    this.#acks.flush()
    await settleWithin(Promise.all(this.#lanes.map((l) => l.finish().catch(() => {}))), ms, { unref: true })
  }

  // ---- lanes ----

  /**
   * The bulk window ({@link bulkWindow}) for the lowest RTT the transport reported so far, asked
   * before every bulk message. With quinn `rtt()` waits for the connection's lock while the
   * engine's runtime processes packets (0.3-0.6 ms a call at 200-400 MiB/s), and that wait paces
   * the sender: asking every 250 ms instead raised loopback bulk throughput 10-70% and a ping's
   * wait behind the bulk on the same connection about 60% (2026-12-06). Replace it with
   * deliberate pacing of the bulk class, not with a cache.
   */
  #bulkWindow(): number {
    const rtt = this.#transportRtt()
    if (rtt !== undefined && rtt > 0) this.#minRtt = Math.min(this.#minRtt, rtt)
    return bulkWindow(this.#host.maxBulkBytesInFlight, this.#minRtt, this.#host.bulkWindowScaling)
  }

  #laneOf(topic: string, priority: Priority | undefined): number {
    return laneOf(topic, priority ?? this.#host.topicPriority(topic))
  }

  #channelOptions(signal?: AbortSignal) {
    return {
      maxFrameSize: this.#host.maxMessageSize,
      partialFrameTimeoutMs: this.#host.partialFrameTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
    }
  }

  async #openLane(lane: number): Promise<MessageChannel> {
    const channel = await this.connection.openChannel(this.#channelOptions(this.#lifetime.signal))
    await channel.send(encodeEnvelope({ kind: 'lane', id: lane + 1 }, Infinity))
    return channel
  }

  /** Sends a control envelope (ack, pong, small answer) on the control lane; never throws. */
  #control(envelope: Envelope, bytes?: Uint8Array): void {
    if (this.#closedError !== undefined) return
    this.#lanes[CONTROL_LANE]!.enqueue(bytes ?? encodeEnvelope(envelope, Infinity)).catch((error: unknown) =>
      this.#host.log.debug('control envelope not sent', {
        peer: shortId(this.id),
        error: errorMessage(error),
      }),
    )
  }

  #unavailable(): Error {
    const error = this.#closedError
    if (error instanceof NodeStoppedError || error instanceof PeerUnavailableError) return error
    return new PeerUnavailableError(this.id, error?.message ?? 'the link is closed', {
      cause: error,
      reason: 'connection-lost',
    })
  }

  #end(reason: string, code: number): void {
    this.close(
      new PeerUnavailableError(this.id, reason, {
        reason: code === CODE.PROTOCOL_ERROR ? 'protocol-error' : 'shutdown',
      }),
    )
    this.connection.close(reason, code).catch(() => {})
  }

  #countBytes(bytes: Uint8Array): void {
    this.stats.bytesReceived += bytes.byteLength
    this.#host.stats.bytesReceived += bytes.byteLength
  }

  #countReceived(): void {
    this.stats.messagesReceived++
    this.#host.stats.messagesReceived++
  }

  #unexpected(): void {
    this.stats.unexpected++
    this.#host.stats.unexpected++
  }

  #idle(): boolean {
    return this.#requests.size === 0 && this.#scheduler.idle && this.#lanes.every((l) => l.idle)
  }

  #checkIdle(): void {
    // called on every settled request and written message: nothing to do unless someone waits
    if (this.#idleWaiters.size === 0) return
    this.#acks.flush() // see whenIdle
    if (!this.#idle()) return
    const waiters = [...this.#idleWaiters]
    this.#idleWaiters.clear()
    for (const wake of waiters) wake()
  }
}

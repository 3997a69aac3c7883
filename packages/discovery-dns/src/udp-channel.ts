import { randomInt } from 'node:crypto'
import { createSocket, type Socket, type SocketType } from 'node:dgram'
import { abortErrorFor, throwIfAborted } from '@peer/discovery-core'
import { toError, whenAborted } from '@peer/discovery-core/internal'
import { DnsNetworkError, DnsTimeoutError } from './errors.js'
import { formatResolver, type ResolverAddress } from './resolver-address.js'

/** Makes the UDP sockets a {@link DnsClient} queries through (tests inject one to count them). */
export type UdpSocketFactory = (type: SocketType) => Socket

/** Limits of one {@link UdpChannel}. */
export interface UdpChannelOptions {
  /** Queries sent through one socket before the next query opens a new one (a new source port). */
  queriesPerSocket: number
  /** Most queries waiting for an answer at once; more are refused with a {@link DnsNetworkError}. */
  maxInFlight: number
  /** A socket with nothing in flight for this long is closed. */
  idleCloseMs: number
  /** Socket factory. Default `dgram.createSocket`. */
  createSocket?: UdpSocketFactory | undefined
  /** Called once per socket opened (for the client's counters). */
  onSocket?: () => void
}

interface Pending {
  readonly question: string
  finish(error: Error | undefined, answer?: Buffer): void
}

/** One socket and the queries in flight on it. */
interface Generation {
  readonly socket: Socket
  /** Settles when `connect` has succeeded; rejects (handled) when it failed. */
  readonly ready: Promise<void>
  readonly pending: Map<number, Pending>
  sent: number
  /** No new queries go out on it (rotated, idle, failed): it closes once `pending` is empty. */
  retired: boolean
  closed: boolean
  idleTimer: NodeJS.Timeout | undefined
}

/**
 * Queries one DNS server over UDP through one connected socket at a time, with many queries in
 * flight on it (told apart by their random 16-bit ids, never two alike in flight at once). After
 * `queriesPerSocket` queries, or as soon as the socket fails (a failed `connect`, an ICMP error,
 * an unexpected close), the next query opens a fresh socket on a fresh random source port; the old
 * one closes when its last query settles. A failure of the socket fails every query in flight on
 * it with a {@link DnsNetworkError}: nothing is ever sent on a socket whose `connect` failed, and
 * no socket error escapes as an exception. The socket is `unref`ed: an idle channel never keeps
 * the process alive.
 */
export class UdpChannel {
  readonly #server: ResolverAddress
  readonly #label: string
  readonly #options: UdpChannelOptions
  #current: Generation | undefined
  /** Every generation not closed yet (the current one and retired ones still draining). */
  readonly #open = new Set<Generation>()
  #inFlight = 0

  constructor(server: ResolverAddress, options: UdpChannelOptions) {
    this.#server = server
    this.#label = formatResolver(server)
    this.#options = options
  }

  /** Queries waiting for an answer. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Sockets currently open (the current one plus retired ones still draining). */
  get openSockets(): number {
    return this.#open.size
  }

  /**
   * Sends the query `encode(id)` builds (with an id chosen here) and resolves with the first
   * datagram from the server carrying that id. Rejects with {@link DnsTimeoutError},
   * {@link DnsNetworkError} or an `AbortError`.
   */
  exchange(
    encode: (id: number) => Buffer,
    question: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    throwIfAborted(signal)
    if (this.#inFlight >= this.#options.maxInFlight) {
      return Promise.reject(
        new DnsNetworkError(this.#label, question, {
          cause: new Error(`more than ${this.#options.maxInFlight} queries in flight`),
        }),
      )
    }
    const gen = this.#generation()
    let id = randomInt(0x10000)
    while (gen.pending.has(id)) id = randomInt(0x10000)
    let bytes: Buffer
    try {
      bytes = encode(id)
    } catch (error) {
      return Promise.reject(error)
    }
    gen.sent++
    if (gen.sent >= this.#options.queriesPerSocket) gen.retired = true
    if (gen.idleTimer !== undefined) {
      clearTimeout(gen.idleTimer)
      gen.idleTimer = undefined
    }
    this.#inFlight++
    return new Promise<Buffer>((resolve, reject) => {
      let done = false
      const finish = (error: Error | undefined, answer?: Buffer) => {
        if (done) return
        done = true
        clearTimeout(timer)
        off?.()
        gen.pending.delete(id)
        this.#inFlight--
        this.#settled(gen)
        if (error) reject(error)
        else resolve(answer!)
      }
      const timer = setTimeout(() => finish(new DnsTimeoutError(this.#label, question, timeoutMs)), timeoutMs)
      const off = signal && whenAborted(signal, () => finish(abortErrorFor(signal)))
      gen.pending.set(id, { question, finish })
      gen.ready.then(
        () => {
          if (done) return
          if (gen.closed) {
            finish(this.#networkError(question, new Error('socket closed before the query was sent')))
            return
          }
          try {
            gen.socket.send(bytes, (error) => {
              if (error) finish(this.#networkError(question, error))
            })
          } catch (error) {
            finish(this.#networkError(question, error))
          }
        },
        (error: unknown) => finish(this.#networkError(question, error)),
      )
    })
  }

  /** Closes every socket and fails the queries in flight; a later query opens a new socket. */
  close(): void {
    for (const gen of [...this.#open]) this.#fail(gen, new Error('the DNS client is closed'))
    this.#current = undefined
  }

  #networkError(question: string, cause: unknown): DnsNetworkError {
    return new DnsNetworkError(this.#label, question, {
      cause: toError(cause),
    })
  }

  /** The generation new queries go out on: the current one unless retired. */
  #generation(): Generation {
    const current = this.#current
    if (current !== undefined && !current.retired && !current.closed) return current
    const factory = this.#options.createSocket ?? createSocket
    const socket = factory(this.#server.family === 6 ? 'udp6' : 'udp4')
    this.#options.onSocket?.()
    const ready = new Promise<void>((resolve, reject) => {
      try {
        // e.g. ENETUNREACH / EADDRNOTAVAIL arrive here: the socket is then unconnected and unusable
        socket.connect(this.#server.port, this.#server.host, (error?: Error) =>
          error ? reject(error) : resolve(),
        )
      } catch (error) {
        reject(error)
      }
    })
    const gen: Generation = {
      socket,
      ready,
      pending: new Map(),
      sent: 0,
      retired: false,
      closed: false,
      idleTimer: undefined,
    }
    ready.catch((error: unknown) => this.#fail(gen, error))
    socket.on('error', (error) => this.#fail(gen, error))
    socket.on('close', () => this.#fail(gen, new Error('socket closed')))
    socket.on('message', (message: Buffer) => {
      // a connected socket only hears from the server; answers to ids no longer in flight (late
      // answers to timed-out queries) are dropped
      if (message.length < 2) return
      gen.pending.get(message.readUInt16BE(0))?.finish(undefined, message)
    })
    socket.unref()
    if (this.#current !== undefined) this.#retire(this.#current)
    this.#current = gen
    this.#open.add(gen)
    return gen
  }

  /** A query settled on `gen`: close it if retired and drained, or arm the idle timer. */
  #settled(gen: Generation): void {
    if (gen.pending.size > 0 || gen.closed) return
    if (gen.retired) {
      this.#closeSocket(gen)
      return
    }
    gen.idleTimer = setTimeout(() => {
      gen.idleTimer = undefined
      if (gen.pending.size === 0) this.#retire(gen)
    }, this.#options.idleCloseMs)
    gen.idleTimer.unref()
  }

  #retire(gen: Generation): void {
    gen.retired = true
    if (this.#current === gen) this.#current = undefined
    if (gen.pending.size === 0) this.#closeSocket(gen)
  }

  /** The socket failed: every query on it fails and the next query opens a new socket. */
  #fail(gen: Generation, cause: unknown): void {
    if (gen.closed) return
    gen.retired = true
    if (this.#current === gen) this.#current = undefined
    const error = toError(cause)
    for (const p of [...gen.pending.values()]) p.finish(this.#networkError(p.question, error))
    this.#closeSocket(gen)
  }

  #closeSocket(gen: Generation): void {
    if (gen.closed) return
    gen.closed = true
    if (gen.idleTimer !== undefined) clearTimeout(gen.idleTimer)
    this.#open.delete(gen)
    if (this.#current === gen) this.#current = undefined
    try {
      gen.socket.close()
    } catch {
      // already closed
    }
  }
}

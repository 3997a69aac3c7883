import { connect } from 'node:net'
import { type AbortOptions, abortErrorFor, throwIfAborted } from '@peer/discovery-core'
import { numberOption, toError, whenAborted } from '@peer/discovery-core/internal'
import {
  type DnsResponse,
  decodeResponse,
  encodeQuery,
  normaliseName,
  type QueryType,
  RecordType,
} from './dns-message.js'
import {
  DnsConfigError,
  DnsNetworkError,
  DnsQueryFailedError,
  DnsServerError,
  DnsTimeoutError,
  MalformedDnsMessageError,
} from './errors.js'
import { formatResolver, parseResolvers, type ResolverAddress } from './resolver-address.js'
import { UdpChannel, type UdpSocketFactory } from './udp-channel.js'

/** Options of {@link DnsClient}. */
export interface DnsClientOptions {
  /** DNS servers as `host:port` (IP literals only). Required: there is no default resolver. */
  resolvers: readonly string[] | string
  /** Time to wait for one answer from one server, in ms. Default 2000. */
  timeoutMs?: number
  /** How many times the whole server list is tried before a query fails. Default 2. */
  attempts?: number
  /** EDNS(0) UDP payload size advertised; 512 (or 0) sends plain RFC 1035 queries. Default 1232. */
  udpPayloadSize?: number
  /**
   * UDP queries sent through one socket (one source port) before the next query opens a new one
   * on a new random port. Default 100.
   */
  queriesPerSocket?: number
  /** Most UDP queries in flight per server at once; more fail at once as network errors. Default 256. */
  maxInFlight?: number
  /** A UDP socket with no query in flight for this long is closed, in ms. Default 5000. */
  idleCloseMs?: number
  /** Makes the UDP sockets (default `dgram.createSocket`): for tests that count or wrap them. */
  createSocket?: UdpSocketFactory | undefined
}

/** Counters kept by a {@link DnsClient}; they only grow. */
export interface DnsClientStats {
  /** Queries sent over UDP. */
  udpQueries: number
  /** Queries sent over TCP (after a truncated UDP answer). */
  tcpQueries: number
  /** UDP answers with the TC bit set. */
  truncated: number
  /** Attempts that timed out. */
  timeouts: number
  /** Answers that could not be decoded or did not match the question. */
  malformed: number
  /** Answers with SERVFAIL, REFUSED, NOTIMP or FORMERR. */
  serverErrors: number
  /** Socket-level failures (unreachable, refused, reset). */
  networkErrors: number
  /** UDP sockets opened (one per server at a time, renewed every `queriesPerSocket` queries). */
  udpSockets: number
}

/** The most a DNS message over TCP can be (RFC 1035 section 4.2.2: a 16-bit length prefix). */
const MAX_TCP_MESSAGE = 0xffff

/**
 * A small DNS stub client: sends one question to the configured servers in turn over UDP, retries
 * over TCP when the answer is truncated, and returns the first definite answer (NOERROR or
 * NXDOMAIN). SERVFAIL, REFUSED, timeouts, socket errors and malformed answers move on to the next
 * server; when every attempt failed it throws a {@link DnsQueryFailedError}. Every query takes
 * `{ signal }`.
 *
 * UDP queries to one server share one connected socket, many in flight at once, each with a random
 * id; the socket (so the source port) is renewed every `queriesPerSocket` queries and whenever it
 * fails. {@link DnsClient.close} releases the sockets (idle ones close by themselves and never keep
 * the process alive).
 */
export class DnsClient {
  /** The servers asked, in order. */
  readonly servers: readonly ResolverAddress[]
  /** Time to wait for one answer from one server, in ms. */
  readonly timeoutMs: number
  /** Rounds over the server list per query. */
  readonly attempts: number
  /** EDNS(0) UDP payload size advertised (512: no EDNS). */
  readonly udpPayloadSize: number
  readonly #stats: DnsClientStats = {
    udpQueries: 0,
    tcpQueries: 0,
    truncated: 0,
    timeouts: 0,
    malformed: 0,
    serverErrors: 0,
    networkErrors: 0,
    udpSockets: 0,
  }
  readonly #channels: readonly UdpChannel[]
  /** Index of the server that answered last: queries start there. */
  #preferred = 0

  constructor(options: DnsClientOptions) {
    this.servers = parseResolvers(options.resolvers)
    this.timeoutMs = positive(options.timeoutMs, 2000, 'timeoutMs')
    this.attempts = Math.max(1, Math.floor(positive(options.attempts, 2, 'attempts')))
    this.udpPayloadSize = options.udpPayloadSize ?? 1232
    const channelOptions = {
      queriesPerSocket: Math.floor(positive(options.queriesPerSocket, 100, 'queriesPerSocket')),
      maxInFlight: Math.floor(positive(options.maxInFlight, 256, 'maxInFlight')),
      idleCloseMs: positive(options.idleCloseMs, 5000, 'idleCloseMs'),
      createSocket: options.createSocket,
      onSocket: () => {
        this.#stats.udpSockets++
      },
    }
    if (options.createSocket !== undefined && typeof options.createSocket !== 'function') {
      throw new DnsConfigError('createSocket must be a function')
    }
    this.#channels = this.servers.map((server) => new UdpChannel(server, channelOptions))
  }

  /** Closes the UDP sockets; queries in flight fail. Later queries open new sockets. */
  close(): void {
    for (const channel of this.#channels) channel.close()
  }

  /** A copy of the counters. */
  get stats(): Readonly<DnsClientStats> {
    return { ...this.#stats }
  }

  /**
   * Asks `name`/`type`. Resolves with a NOERROR or NXDOMAIN answer (the caller decides what an
   * empty answer means); rejects with {@link DnsQueryFailedError} when no server gave one, or with
   * an `AbortError` when `signal` aborts.
   */
  async query(name: string, type: QueryType, options: AbortOptions = {}): Promise<DnsResponse> {
    throwIfAborted(options.signal)
    const qname = normaliseName(name)
    const question = `${qname} ${type}`
    const errors: Error[] = []
    const n = this.servers.length
    for (let attempt = 0; attempt < this.attempts * n; attempt++) {
      const index = (this.#preferred + attempt) % n
      const server = this.servers[index]!
      try {
        const response = await this.#ask(index, server, qname, type, options.signal)
        this.#preferred = index
        return response
      } catch (error) {
        if (options.signal?.aborted) throw abortErrorFor(options.signal)
        const err = toError(error)
        if (err instanceof DnsTimeoutError) this.#stats.timeouts++
        else if (err instanceof MalformedDnsMessageError) this.#stats.malformed++
        else if (err instanceof DnsServerError) this.#stats.serverErrors++
        else this.#stats.networkErrors++
        errors.push(err)
      }
    }
    throw new DnsQueryFailedError(question, errors)
  }

  async #ask(
    index: number,
    server: ResolverAddress,
    qname: string,
    type: QueryType,
    signal?: AbortSignal,
  ): Promise<DnsResponse> {
    const question = `${qname} ${type}`
    let id = 0
    this.#stats.udpQueries++
    const raw = await this.#channels[index]!.exchange(
      (chosen) => {
        id = chosen
        return encodeQuery(qname, type, { id, udpPayloadSize: this.udpPayloadSize }).bytes
      },
      question,
      this.timeoutMs,
      signal,
    )
    if (raw.length >= 3 && (raw[2]! & 0x02) !== 0) {
      this.#stats.truncated++
      this.#stats.tcpQueries++
      const tcp = encodeQuery(qname, type, { udpPayloadSize: 0 })
      const answer = await tcpExchange(server, tcp.bytes, this.timeoutMs, question, signal)
      return checkResponse(decodeResponse(answer), tcp.id, qname, type, server)
    }
    return checkResponse(decodeResponse(raw), id, qname, type, server)
  }
}

/**
 * Checks that a decoded answer answers the question asked (QR set, same id, same question, no TC
 * over TCP) and that its rcode is definite (NOERROR, NXDOMAIN). Throws a
 * {@link MalformedDnsMessageError} or a {@link DnsServerError}.
 */
export function checkResponse(
  response: DnsResponse,
  id: number,
  qname: string,
  type: QueryType,
  server: ResolverAddress,
): DnsResponse {
  if (!response.qr) throw new MalformedDnsMessageError('answer is not a response (QR bit clear)')
  if (response.id !== id)
    throw new MalformedDnsMessageError(`answer id ${response.id} does not match query id ${id}`)
  if (response.tc) throw new MalformedDnsMessageError('TCP answer has the TC bit set')
  if (response.question !== undefined) {
    if (response.question.name !== qname || response.question.type !== RecordType[type]) {
      throw new MalformedDnsMessageError(
        `answer is for ${response.question.name} type ${response.question.type}, not ${qname} ${type}`,
      )
    }
  } else if (response.rcode === 0 || response.rcode === 3) {
    throw new MalformedDnsMessageError('answer has no question section')
  }
  if (response.rcode !== 0 && response.rcode !== 3) {
    throw new DnsServerError(formatResolver(server), response.rcode, `${qname} ${type}`)
  }
  return response
}

type Finish = (error: Error | undefined, value?: Buffer) => void

/**
 * One request/response exchange on a socket: settles once, with the answer, an error, the timeout
 * or an abort, and always releases the socket, the timer and the abort listener.
 */
function settleOnce(
  release: () => void,
  timeoutMs: number,
  timeoutError: () => Error,
  signal: AbortSignal | undefined,
  wire: (finish: Finish) => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let done = false
    const finish: Finish = (error, value) => {
      if (done) return
      done = true
      clearTimeout(timer)
      off?.()
      release()
      if (error) reject(error)
      else resolve(value!)
    }
    const timer = setTimeout(() => finish(timeoutError()), timeoutMs)
    const off = signal && whenAborted(signal, () => finish(abortErrorFor(signal)))
    try {
      wire(finish)
    } catch (error) {
      finish(toError(error))
    }
  })
}

/**
 * Reassembles one length-prefixed DNS message (RFC 1035 section 4.2.2) from TCP chunks: `push`
 * returns the message once complete, `undefined` while more bytes are needed, and throws a
 * {@link MalformedDnsMessageError} when more bytes arrive than the prefix announced allows.
 */
export class TcpAnswerReader {
  readonly #chunks: Buffer[] = []
  #received = 0
  #expected = -1

  /** Bytes received so far (prefix included). */
  get received(): number {
    return this.#received
  }

  /** Message length announced by the prefix, or -1 before it arrived. */
  get expected(): number {
    return this.#expected
  }

  push(chunk: Buffer): Buffer | undefined {
    this.#chunks.push(chunk)
    this.#received += chunk.length
    if (this.#received > MAX_TCP_MESSAGE + 2) {
      throw new MalformedDnsMessageError('TCP answer longer than its length prefix')
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks)
    if (this.#chunks.length > 1) this.#chunks.splice(0, this.#chunks.length, all)
    if (this.#expected < 0 && all.length >= 2) this.#expected = all.readUInt16BE(0)
    if (this.#expected >= 0 && all.length >= this.#expected + 2) {
      return all.subarray(2, this.#expected + 2)
    }
    return undefined
  }
}

function tcpExchange(
  server: ResolverAddress,
  query: Buffer,
  timeoutMs: number,
  question: string,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  throwIfAborted(signal)
  const label = formatResolver(server)
  const what = `${question} (TCP)`
  const socket = connect({ host: server.host, port: server.port })
  const timeoutError = () => new DnsTimeoutError(label, what, timeoutMs)
  return settleOnce(
    () => socket.destroy(),
    timeoutMs,
    timeoutError,
    signal,
    (finish) => {
      const reader = new TcpAnswerReader()
      const cut = () =>
        new MalformedDnsMessageError(
          `TCP connection closed after ${reader.received} of ${reader.expected + 2} bytes`,
        )
      socket.on('error', (error) => finish(new DnsNetworkError(label, what, { cause: error })))
      socket.on('end', () => finish(cut()))
      socket.on('close', () => finish(cut()))
      socket.on('data', (chunk: Buffer) => {
        try {
          const answer = reader.push(chunk)
          if (answer !== undefined) finish(undefined, answer)
        } catch (error) {
          finish(toError(error))
        }
      })
      const prefix = Buffer.alloc(2)
      prefix.writeUInt16BE(query.length)
      socket.write(Buffer.concat([prefix, query]), (error) => {
        if (error) finish(new DnsNetworkError(label, what, { cause: error }))
      })
    },
  )
}

function positive(value: number | undefined, fallback: number, name: string): number {
  return numberOption(value, name, fallback, { min: 0, exclusiveMin: true }, DnsConfigError)
}

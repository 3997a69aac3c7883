import { createConnection, type Socket } from 'node:net'
import { type AbortOptions, throwIfAborted } from '@peer/discovery-core'
import { withTimeout } from '@peer/discovery-core/internal'
import type { ControlErrorName, ControlMethod, ControlReply } from './control-protocol.js'
import { CliError } from './errors.js'

/** Largest reply line the client accepts (a status of many peers is large, but bounded). */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024
/** Default time limit of one request (connect included), ms. */
export const CONTROL_REQUEST_TIMEOUT_MS = 10_000

/** The node behind the socket went away (or was never there). */
export class NodeGoneError extends CliError {}

/** The node answered a request with an error reply (`reason` is its name, e.g. `UnknownMethod`). */
export class ControlRefusedError extends CliError {
  /** The error name of the reply. */
  readonly reason: ControlErrorName
  constructor(message: string, reason: ControlErrorName, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** Options of {@link ControlClient.connect} and {@link ControlClient.request}. */
export interface ControlClientOptions extends AbortOptions {
  /** Time limit in ms. Default {@link CONTROL_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number
}

/**
 * A connection to the control socket of a running `peer start`: one request at a time, each
 * answered by one reply line. `closed` resolves when the node closes the connection (it stopped).
 */
export class ControlClient {
  /** The path of the control socket this client is connected to. */
  readonly path: string
  /**
   * Resolves (never rejects) once the connection has closed: the node went away, `close()` was
   * called, or a malformed or oversized reply ended it.
   */
  readonly closed: Promise<void>
  readonly #socket: Socket
  #partial = ''
  #nextId = 1
  #waiting: { resolve: (reply: ControlReply) => void; reject: (error: Error) => void } | undefined
  #ended = false

  private constructor(path: string, socket: Socket) {
    this.path = path
    this.#socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.#onData(chunk))
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#ended = true
        this.#fail(new NodeGoneError(`the node at ${path} closed the control connection (it stopped)`))
        resolve()
      })
    })
    socket.on('error', () => {}) // surfaces as 'close'
  }

  /** Connects to the control socket at `path`; fails with a clear `CliError` when no node runs there. */
  static async connect(path: string, options: ControlClientOptions = {}): Promise<ControlClient> {
    throwIfAborted(options.signal)
    const socket = createConnection({ path })
    let onError!: (error: NodeJS.ErrnoException) => void
    const connected = new Promise<void>((resolve, reject) => {
      onError = (error) => reject(connectError(path, error))
      socket.once('connect', resolve).once('error', onError)
    })
    try {
      await withTimeout(
        connected,
        options.timeoutMs ?? CONTROL_REQUEST_TIMEOUT_MS,
        () => new CliError(`the node at ${path} did not accept a control connection in time`),
        options.signal,
      )
    } catch (error) {
      socket.destroy()
      throw error
    } finally {
      socket.off('error', onError)
    }
    return new ControlClient(path, socket)
  }

  /**
   * Sends one request and resolves with its result; a reply with `ok: false` rejects with
   * {@link ControlRefusedError}.
   */
  async request(method: ControlMethod, options: ControlClientOptions = {}): Promise<unknown> {
    throwIfAborted(options.signal)
    if (this.#ended)
      throw new NodeGoneError(`the node at ${this.path} closed the control connection (it stopped)`)
    if (this.#waiting !== undefined) throw new CliError('one control request at a time')
    const id = this.#nextId++
    const answer = new Promise<ControlReply>((resolve, reject) => {
      this.#waiting = { resolve, reject }
    })
    this.#socket.write(`${JSON.stringify({ id, method })}\n`)
    let reply: ControlReply
    try {
      reply = await withTimeout(
        answer,
        options.timeoutMs ?? CONTROL_REQUEST_TIMEOUT_MS,
        () => new CliError(`the node at ${this.path} did not answer "${method}" in time`),
        options.signal,
      )
    } finally {
      this.#waiting = undefined
    }
    if (!reply.ok)
      throw new ControlRefusedError(
        `the node refused "${method}": ${reply.error.name}: ${reply.error.message}`,
        reply.error.name,
      )
    return reply.result
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.destroy()
  }

  #onData(chunk: string): void {
    this.#partial += chunk
    let nl = this.#partial.indexOf('\n')
    while (nl >= 0) {
      const line = this.#partial.slice(0, nl)
      this.#partial = this.#partial.slice(nl + 1)
      let reply: ControlReply | undefined
      try {
        reply = JSON.parse(line) as ControlReply
      } catch {
        reply = undefined
      }
      if (
        reply === undefined ||
        typeof reply !== 'object' ||
        reply === null ||
        typeof reply.ok !== 'boolean'
      ) {
        this.#fail(new CliError(`the node at ${this.path} sent a malformed control reply`))
        this.#socket.destroy()
        return
      }
      this.#waiting?.resolve(reply)
      nl = this.#partial.indexOf('\n')
    }
    if (this.#partial.length > MAX_REPLY_BYTES) {
      this.#fail(new CliError(`the node at ${this.path} sent a control reply over ${MAX_REPLY_BYTES} bytes`))
      this.#socket.destroy()
    }
  }

  #fail(error: Error): void {
    this.#waiting?.reject(error)
  }
}

function connectError(path: string, error: NodeJS.ErrnoException): CliError {
  if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
    return new NodeGoneError(
      `no node is running with the control socket ${path} (start one with \`peer start\`, or name its socket with --control)`,
      { cause: error },
    )
  }
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return new CliError(
      `permission denied on the control socket ${path}: run peer status as the user who runs the node`,
      { cause: error },
    )
  }
  return new CliError(`cannot connect to the control socket ${path}: ${error.message}`, { cause: error })
}

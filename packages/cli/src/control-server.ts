import { chmodSync, lstatSync } from 'node:fs'
import { lstat, unlink } from 'node:fs/promises'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { type AbortOptions, raceSignal } from '@peer/discovery-core'
import { errorMessage, settleWithin } from '@peer/discovery-core/internal'
import {
  CONTROL_IDLE_MS,
  type ControlMethod,
  type ControlReply,
  errorReply,
  isControlRequest,
  MAX_CONTROL_CLIENTS,
  MAX_PENDING_REPLY_BYTES,
  MAX_REQUEST_BYTES,
  parseControlRequest,
} from './control-protocol.js'
import { CliError } from './errors.js'

/** Longest Unix socket path (bytes) Linux and macOS accept (`sun_path` less the terminator). */
export const MAX_SOCKET_PATH_BYTES = 103
/** How long the stale-socket check waits for a connection to an existing socket file. */
const PROBE_MS = 1000

/** Answers one control method; a throw becomes an `InternalError` reply. */
export type ControlHandler = (method: ControlMethod) => unknown

/** Options of {@link ControlServer.listen}. */
export interface ControlServerOptions extends AbortOptions {
  /** Override {@link MAX_CONTROL_CLIENTS} (tests). */
  maxClients?: number
  /** Override {@link CONTROL_IDLE_MS} (tests). */
  idleMs?: number
}

/**
 * The control socket of `peer start`: a Unix domain socket, mode 0600, answering the line-delimited
 * JSON protocol of `control-protocol.ts`. Filesystem permissions are the authentication: only
 * the user running the node (and root) can connect; there is no token to leak and no port to
 * collide with. A socket file left behind by a killed node is detected (nothing accepts on it) and
 * replaced; a live one makes `listen` fail, so two nodes never share a socket.
 */
export class ControlServer {
  /** The path of the Unix socket this server listens on (its file is removed by `close()`). */
  readonly path: string
  readonly #server: Server
  readonly #clients = new Set<Socket>()
  readonly #handler: ControlHandler
  readonly #maxClients: number
  readonly #idleMs: number
  #closed = false
  /** Inode of the socket file this server made (its file is removed on close, never another's). */
  #ino: number | undefined
  /**
   * Counters for tests and status: requests answered, bad requests answered with an error, and
   * clients refused with a `Busy` reply (over the client limit, or after `close()`).
   */
  readonly stats = { requests: 0, badRequests: 0, refusedClients: 0 }

  private constructor(path: string, handler: ControlHandler, options: ControlServerOptions) {
    this.path = path
    this.#handler = handler
    this.#maxClients = options.maxClients ?? MAX_CONTROL_CLIENTS
    this.#idleMs = options.idleMs ?? CONTROL_IDLE_MS
    this.#server = createServer((socket) => this.#serve(socket))
    this.#server.on('error', () => {}) // after listening, errors end up on the client sockets
  }

  /** Clients connected right now. */
  get clients(): number {
    return this.#clients.size
  }

  /**
   * Opens the control socket at `path` (an absolute path in a directory that exists), replacing a
   * stale socket file. Fails with a `CliError` when a node already answers there, when `path`
   * exists and is not a socket, or when the path is too long for a Unix socket.
   */
  static async listen(
    path: string,
    handler: ControlHandler,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw new CliError(
        `control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes: choose a shorter one with --control <path>`,
      )
    }
    await removeStale(path, options)
    const server = new ControlServer(path, handler, options)
    await raceSignal(server.#bind(), options.signal).catch(async (error: unknown) => {
      await server.close()
      throw error
    })
    return server
  }

  #bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new CliError(`cannot open the control socket ${this.path}: ${error.message}`, { cause: error }),
        )
      }
      this.#server.once('error', onError)
      // the socket file is created with mode 0600 (no window where others could connect): the
      // bind happens inside listen(), synchronously, under this umask
      const umask = process.umask(0o177)
      try {
        this.#server.listen({ path: this.path }, () => {
          this.#server.off('error', onError)
          try {
            chmodSync(this.path, 0o600)
            this.#ino = lstatSync(this.path).ino
          } catch {}
          resolve()
        })
      } finally {
        process.umask(umask)
      }
    })
  }

  #serve(socket: Socket): void {
    socket.on('error', () => socket.destroy())
    if (this.#closed || this.#clients.size >= this.#maxClients) {
      this.stats.refusedClients++
      socket.end(
        `${JSON.stringify(errorReply(null, 'Busy', `at most ${this.#maxClients} control clients at once`))}\n`,
      )
      socket.setTimeout(1000, () => socket.destroy())
      return
    }
    this.#clients.add(socket)
    socket.on('close', () => this.#clients.delete(socket))
    socket.setTimeout(this.#idleMs, () => socket.destroy())
    socket.setEncoding('utf8')
    let partial = ''
    socket.on('data', (chunk: string) => {
      partial += chunk
      let nl = partial.indexOf('\n')
      while (nl >= 0) {
        const line = partial.slice(0, nl).replace(/\r$/, '')
        partial = partial.slice(nl + 1)
        if (line.trim() !== '') this.#answer(socket, line)
        if (socket.destroyed) return
        nl = partial.indexOf('\n')
      }
      if (Buffer.byteLength(partial) > MAX_REQUEST_BYTES) {
        this.stats.badRequests++
        partial = ''
        this.#reply(
          socket,
          errorReply(null, 'RequestTooLarge', `a request is at most ${MAX_REQUEST_BYTES} bytes`),
        )
        socket.end()
        socket.pause()
      }
    })
  }

  #answer(socket: Socket, line: string): void {
    const request = parseControlRequest(line)
    if (!isControlRequest(request)) {
      this.stats.badRequests++
      this.#reply(socket, request)
      return
    }
    this.stats.requests++
    let reply: ControlReply
    try {
      reply = { id: request.id, ok: true, result: this.#handler(request.method) }
    } catch (error) {
      reply = errorReply(request.id, 'InternalError', errorMessage(error))
    }
    this.#reply(socket, reply)
  }

  #reply(socket: Socket, reply: ControlReply): void {
    if (socket.destroyed || !socket.writable) return
    let text: string
    try {
      text = `${JSON.stringify(reply)}\n`
    } catch (error) {
      text = `${JSON.stringify(errorReply(reply.id, 'InternalError', errorMessage(error)))}\n`
    }
    // a client that does not read its replies is not allowed to grow our memory
    if (socket.writableLength > MAX_PENDING_REPLY_BYTES) {
      socket.destroy()
      return
    }
    socket.write(text)
  }

  /** Closes the socket (removing its file) and every client connection. Idempotent, bounded. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const socket of this.#clients) socket.destroy()
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await settleWithin(closed, 2000)
    // the server removes its socket file on close; make sure, without touching a file it did not make
    await lstat(this.path).then(
      (st) => (st.isSocket() && st.ino === this.#ino ? unlink(this.path).catch(() => {}) : undefined),
      () => {},
    )
  }
}

/**
 * Removes a socket file nothing accepts on (left by a killed node). Throws when a node answers
 * there, or when `path` is something else than a socket.
 */
/**
 * Makes `path` ready for a control socket, as {@link ControlServer.listen} does first: a stale
 * socket (its process is gone) is removed; a live one (a node runs there) or a file that is not a
 * socket throws `CliError`. `peer start` calls it before it starts its node, so that a second
 * `peer start` with the same identity directory fails before it announces or dials anything.
 */
export function clearControlPath(path: string, options: AbortOptions = {}): Promise<void> {
  return removeStale(path, options)
}

async function removeStale(path: string, options: AbortOptions): Promise<void> {
  const st = await lstat(path).catch(() => undefined)
  if (st === undefined) return
  if (!st.isSocket()) {
    throw new CliError(`${path} exists and is not a socket: remove it or choose another --control path`)
  }
  const alive = await raceSignal(
    new Promise<boolean>((resolve) => {
      const probe = createConnection({ path })
      const done = (value: boolean) => {
        clearTimeout(timer)
        probe.destroy()
        resolve(value)
      }
      const timer = setTimeout(() => done(true), PROBE_MS) // accepting but slow: treat as alive
      probe.once('connect', () => done(true))
      probe.once('error', () => done(false))
    }),
    options.signal,
  )
  if (alive) {
    throw new CliError(
      `a node is already running with the control socket ${path}: stop it, or give this one another --control path (or --no-control)`,
    )
  }
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT')
      throw new CliError(`cannot remove the stale control socket ${path}: ${error.message}`)
  })
}

/**
 * Where `peer start` opens its control socket by default, and where `peer status` looks:
 * `control.sock` in the node's identity directory (next to `node.crt` for explicit key and
 * certificate files). Each node has its own identity directory, so each has its own socket.
 */
export function defaultControlPath(identity: string | { keyFile: string; certFile: string }): string {
  return join(typeof identity === 'string' ? identity : dirname(identity.certFile), CONTROL_SOCKET_NAME)
}

/** File name of the default control socket. */
export const CONTROL_SOCKET_NAME = 'control.sock'

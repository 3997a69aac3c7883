// TypeScript modules run as child processes (optionally inside a network namespace), driven by a
// small JSON-lines RPC over stdin/stdout. Parent side: `spawnChild`. Child side: `serveRpc`.
//
// Protocol, one JSON object per line:
//   parent -> child  {"id":1,"method":"name","params":...}
//   child -> parent  {"id":1,"result":...} | {"id":1,"error":{"name","message"}}
//                    {"event":"name","data":...}   (pushed at any time)
//                    {"ready":true}                (once serveRpc runs)
// The child exits when its stdin closes (so it dies with the parent), and the parent SIGKILLs every
// child still running when it exits or dies of SIGINT/SIGTERM/SIGHUP (exit-cleanup.ts).
//
// Child (server.ts):  const rpc = serveRpc({ listen: async ({ port }) => { ...; return boundPort } },
//                                         { onShutdown: () => server.close() })
//                     rpc.emit('connection', { id })          // push an event to the parent
// Parent (a test):    const child = await spawnChild(fileURLToPath(new URL('./server.ts', import.meta.url)), { netns: ns.name })
//                     const port = await child.call<number>('listen', { port: 0 })
//                     await child.nextEvent('connection')
//                     await child.crash()                     // kill -9, or child.close() to stop it gracefully
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { toError } from '@peer/discovery-core/internal'
import { onExit } from './exit-cleanup.js'

/** Longest accepted protocol line (characters); longer output is dropped. */
export const MAX_RPC_LINE = 8 * 1024 * 1024

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  /** Run inside this network namespace (`ip netns exec <netns> node ...`). */
  netns?: string | undefined
  /** Extra arguments passed to the module (`process.argv.slice(2)` in the child). */
  args?: readonly string[]
  /** Extra environment variables. */
  env?: Record<string, string>
  /** Working directory. Default: the current one. */
  cwd?: string
  /** Forward the child's stderr to ours (default: keep the last 64 KiB for error messages). */
  inheritStderr?: boolean
  /** How long to wait for the child's `ready` line. Default 20 s. */
  readyTimeoutMs?: number
}

/** An error thrown inside the child, or a failure of the channel. */
export class ChildRpcError extends Error {
  constructor(message: string, options?: ErrorOptions & { remoteName?: string }) {
    super(message, options)
    this.name = options?.remoteName ?? 'ChildRpcError'
  }
}

/** How a child ended. */
export interface ChildExit {
  code: number | null
  signal: NodeJS.Signals | null
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

const children = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  onExit(() => {
    for (const child of children) child.kill('SIGKILL')
  })
}

function tsxLoader(): string {
  const require = createRequire(import.meta.url)
  return pathToFileURL(require.resolve('tsx')).href
}

/**
 * A running child process driven over JSON-lines RPC. Events pushed by the child are dispatched as
 * `CustomEvent`s (`detail` = data); `exit` is dispatched when the process ends.
 */
export class RpcChild extends EventTarget {
  readonly #proc: ChildProcess
  readonly #pending = new Map<number, Pending>()
  readonly #stderr: string[] = []
  readonly #noise: string[] = []
  #stderrSize = 0
  #nextId = 1
  #buffer = ''
  #exit: ChildExit | undefined
  /** Resolves when the process has exited. */
  readonly exited: Promise<ChildExit>
  #onReady: (() => void) | undefined

  /** @internal use {@link spawnChild} */
  constructor(proc: ChildProcess, inheritStderr: boolean) {
    super()
    this.#proc = proc
    children.add(proc)
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        children.delete(proc)
        this.#exit = { code, signal }
        for (const [, p] of this.#pending) {
          clearTimeout(p.timer)
          p.reject(
            new ChildRpcError(`child exited (${signal ?? code}) before answering${this.#stderrTail()}`),
          )
        }
        this.#pending.clear()
        this.dispatchEvent(new CustomEvent('exit', { detail: this.#exit }))
        resolve(this.#exit)
      })
    })
    proc.stdout?.setEncoding('utf8')
    proc.stdout?.on('data', (chunk: string) => this.#onData(chunk))
    proc.stdin?.on('error', () => {}) // EPIPE after the child died
    if (!inheritStderr) {
      proc.stderr?.setEncoding('utf8')
      proc.stderr?.on('data', (chunk: string) => {
        this.#stderr.push(chunk)
        this.#stderrSize += chunk.length
        while (this.#stderrSize > 65_536 && this.#stderr.length > 1)
          this.#stderrSize -= this.#stderr.shift()!.length
      })
    }
  }

  /** The child's pid (the node process itself: `ip netns exec` execs it). */
  get pid(): number {
    return this.#proc.pid ?? -1
  }

  /** How the child ended, once it has. */
  get exitStatus(): ChildExit | undefined {
    return this.#exit
  }

  /** The last 64 KiB the child wrote to stderr (when not inherited). */
  get stderr(): string {
    return this.#stderr.join('')
  }

  /** Lines the child wrote to stdout that were not protocol messages (last 100). */
  get noise(): readonly string[] {
    return this.#noise
  }

  /** Calls `method` in the child and resolves with its result; rejects with the child's error. */
  call<T = unknown>(method: string, params?: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#exit) return Promise.reject(new ChildRpcError(`child has exited; cannot call ${method}`))
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? 30_000
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new ChildRpcError(`${method} timed out after ${timeoutMs} ms${this.#stderrTail()}`))
      }, timeoutMs)
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.#proc.stdin?.write(`${JSON.stringify({ id, method, params })}\n`)
    })
  }

  /** Resolves with the data of the next `event` pushed by the child that matches `filter`. */
  nextEvent<T = unknown>(
    event: string,
    filter: (data: T) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: Event) => {
        const data = (e as CustomEvent<T>).detail
        if (!filter(data)) return
        cleanup()
        resolve(data)
      }
      const onExit = () => {
        cleanup()
        reject(new ChildRpcError(`child exited while waiting for ${event}${this.#stderrTail()}`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new ChildRpcError(`no ${event} event within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        this.removeEventListener(event, onEvent)
        this.removeEventListener('exit', onExit)
      }
      this.addEventListener(event, onEvent)
      this.addEventListener('exit', onExit)
    })
  }

  /**
   * Stops the child gracefully: closes its stdin (it runs its shutdown hook and exits), then
   * SIGKILLs it if it is still running after `graceMs`.
   */
  async close(graceMs = 5000): Promise<ChildExit> {
    if (this.#exit) return this.#exit
    this.#proc.stdin?.end()
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends `signal` (default SIGTERM) to the child. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.#exit) this.#proc.kill(signal)
  }

  /** `kill -9`: ends the child at once, without its shutdown hook (for crash tests). */
  async crash(): Promise<ChildExit> {
    this.kill('SIGKILL')
    return this.exited
  }

  /** Same as {@link RpcChild.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** @internal */
  waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#proc.kill('SIGKILL')
        reject(new ChildRpcError(`child not ready within ${timeoutMs} ms${this.#stderrTail()}`))
      }, timeoutMs)
      this.#onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      void this.exited.then((exit) => {
        clearTimeout(timer)
        reject(
          new ChildRpcError(
            `child exited (${exit.signal ?? exit.code}) before it was ready${this.#stderrTail()}`,
          ),
        )
      })
    })
  }

  #stderrTail(): string {
    const tail = this.stderr.slice(-2000).trim()
    return tail ? `\n--- child stderr ---\n${tail}` : ''
  }

  #onData(chunk: string): void {
    this.#buffer += chunk
    let nl = this.#buffer.indexOf('\n')
    while (nl >= 0) {
      const line = this.#buffer.slice(0, nl)
      this.#buffer = this.#buffer.slice(nl + 1)
      this.#onLine(line)
      nl = this.#buffer.indexOf('\n')
    }
    if (this.#buffer.length > MAX_RPC_LINE) {
      this.#remember(`${this.#buffer.slice(0, 200)}... (dropped: line too long)`)
      this.#buffer = ''
    }
  }

  #remember(line: string): void {
    this.#noise.push(line)
    if (this.#noise.length > 100) this.#noise.shift()
  }

  #onLine(line: string): void {
    if (line.trim() === '') return
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line) as Record<string, unknown>
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object')
    } catch {
      this.#remember(line)
      return
    }
    if (msg.ready === true) {
      this.#onReady?.()
      return
    }
    if (typeof msg.event === 'string') {
      this.dispatchEvent(new CustomEvent(msg.event, { detail: msg.data }))
      return
    }
    if (typeof msg.id === 'number') {
      const p = this.#pending.get(msg.id)
      if (!p) return
      this.#pending.delete(msg.id)
      clearTimeout(p.timer)
      if (msg.error) {
        const e = msg.error as { name?: string; message?: string }
        p.reject(new ChildRpcError(e.message ?? 'remote error', e.name ? { remoteName: e.name } : {}))
      } else {
        p.resolve(msg.result)
      }
      return
    }
    this.#remember(line)
  }
}

/**
 * The condition that makes `@peer/*` imports load the packages' TypeScript sources (through tsx):
 * none when `PEER_USE_BUILT=1`, so they load the built `dist`, as the published packages run
 * (`pnpm bench`; `pnpm bench:sources` loads the sources: tsx's transform keeps function names with
 * a helper call on every closure it creates, which made a first request at the node level 10 to
 * 15 % dearer than built code).
 */
export function sourceConditions(): string[] {
  return process.env.PEER_USE_BUILT === '1' ? [] : ['--conditions=@peer/source']
}

/**
 * Spawns a TypeScript (or JavaScript) module as a child process:
 * `[ip netns exec NS] node --conditions=@peer/source --import tsx <file> [args]` (without the
 * condition under `PEER_USE_BUILT=1`, see {@link sourceConditions}), and waits until it calls
 * {@link serveRpc}. The child is killed when this process exits.
 */
export async function spawnChild(file: string, options: SpawnChildOptions = {}): Promise<RpcChild> {
  installExitHook()
  const nodeArgs = [...sourceConditions(), '--import', tsxLoader(), file, ...(options.args ?? [])]
  const [cmd, args] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs]
  const proc = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', options.inheritStderr ? 'inherit' : 'pipe'],
  })
  const child = new RpcChild(proc, options.inheritStderr ?? false)
  await child.waitReady(options.readyTimeoutMs ?? 20_000)
  return child
}

/** A method the child exposes: receives the call's params, returns (or resolves with) the result. */
// biome-ignore lint/suspicious/noExplicitAny: each handler declares the type of its own params
export type RpcHandler = (params: any) => unknown

/** What {@link serveRpc} returns to the child. */
export interface RpcServer {
  /** Pushes an event to the parent. */
  emit(event: string, data?: unknown): void
}

/**
 * Child side: answers the parent's calls with `handlers`, and lets the child push events. Console
 * output is redirected to stderr so stdout stays a clean protocol channel. When stdin closes (the
 * parent called `close()` or died), `onShutdown` runs (at most `shutdownTimeoutMs`) and the process
 * exits.
 */
export function serveRpc(
  handlers: Record<string, RpcHandler>,
  options: { onShutdown?: () => unknown; shutdownTimeoutMs?: number } = {},
): RpcServer {
  const write = process.stdout.write.bind(process.stdout)
  const toStderr = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`)
  console.log = toStderr
  console.info = toStderr
  console.debug = toStderr
  const send = (msg: unknown) => {
    write(`${JSON.stringify(msg)}\n`)
  }
  let buffer = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk: string) => {
    buffer += chunk
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      void handle(line)
      nl = buffer.indexOf('\n')
    }
    if (buffer.length > MAX_RPC_LINE) buffer = ''
  })
  let shuttingDown = false
  process.stdin.on('end', async () => {
    if (shuttingDown) return
    shuttingDown = true
    const timer = setTimeout(() => process.exit(1), options.shutdownTimeoutMs ?? 4000)
    try {
      await options.onShutdown?.()
    } catch (error) {
      toStderr('shutdown hook failed:', error)
    }
    clearTimeout(timer)
    process.exit(0)
  })
  async function handle(line: string): Promise<void> {
    let msg: { id?: unknown; method?: unknown; params?: unknown }
    try {
      msg = JSON.parse(line)
    } catch {
      return
    }
    if (typeof msg.id !== 'number' || typeof msg.method !== 'string') return
    const handler = Object.hasOwn(handlers, msg.method) ? handlers[msg.method] : undefined
    try {
      if (!handler) throw new Error(`unknown method ${msg.method}`)
      const result = await handler(msg.params)
      send({ id: msg.id, result: result ?? null })
    } catch (error) {
      const e = toError(error)
      send({ id: msg.id, error: { name: e.name, message: e.message } })
    }
  }
  send({ ready: true })
  return { emit: (event, data) => send({ event, data: data ?? null }) }
}

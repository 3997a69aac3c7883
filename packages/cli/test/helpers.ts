// Runs the `peer` command the way a developer does (tsx, sources through the @peer/source
// condition) as a real child process, and cleans up every process and temp dir it made.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { onExit } from '@peer/testkit/exit-cleanup'

export const cliRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = join(cliRoot, '..', '..')
// tsx as a loader of this one process (`node --import tsx`), not its CLI: the CLI starts a second
// Node.js process and relays signals to it, which cost about a second per run at load 10 and put a
// relay between a test's kill and the command
const tsxLoader = pathToFileURL(
  join(
    dirname(createRequire(join(repoRoot, 'package.json')).resolve('tsx/package.json')),
    'dist',
    'loader.mjs',
  ),
).href
const main = join(cliRoot, 'src', 'main.ts')

/** The command line that runs `peer` from sources. */
export function peerCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, ['--import', tsxLoader, '--conditions=@peer/source', main, ...args]]
}

const live = new Set<ChildProcess>()
onExit(() => {
  for (const child of live) child.kill('SIGKILL')
})

/** The outcome of a finished `peer` run. */
export interface PeerResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A running `peer` process whose output is collected line by line. */
export class PeerProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<PeerResult>
  readonly #waiters = new Set<() => void>()

  constructor(
    args: readonly string[],
    options: { env?: Record<string, string>; cwd?: string; netns?: string; stdin?: Socket } = {},
  ) {
    const [node, nodeArgs] = peerCommand(args)
    // inside a namespace the test created: `ip netns exec <ns> node ...`
    const [cmd, argv] =
      options.netns === undefined
        ? [node, nodeArgs]
        : ['ip', ['netns', 'exec', options.netns, node, ...nodeArgs]]
    this.child = spawn(cmd, argv, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, FORCE_COLOR: '0', ...options.env },
      // stdin: a pipe, or a socket the test controls (e.g. to reset it)
      stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    })
    live.add(this.child)
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d
      for (const w of this.#waiters) w()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d
      for (const w of this.#waiters) w()
    })
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        live.delete(this.child)
        for (const w of this.#waiters) w()
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr })
      })
    })
  }

  /** Stdout lines so far. */
  get lines(): string[] {
    return this.stdout.split('\n').filter((l) => l !== '')
  }

  /** Stdout lines parsed as JSON (lines that are not JSON are skipped). */
  get events(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = []
    for (const line of this.lines) {
      try {
        out.push(JSON.parse(line))
      } catch {}
    }
    return out
  }

  /** Waits until `check` (over stdout, stderr) returns a truthy value; rejects on timeout or exit. */
  async waitFor<T>(check: (p: this) => T, timeoutMs = 15_000, what = 'output'): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check(this)
      if (value) return value as NonNullable<T>
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `peer exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        )
      }
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.#waiters.add(done)
      }).finally(() => this.#waiters.clear())
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<PeerResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Runs `peer args...` to completion (SIGKILL after `timeoutMs`). */
export async function runPeer(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<PeerResult> {
  const p = new PeerProcess(args, options)
  p.child.stdin!.end(options.input ?? '')
  const timer = setTimeout(() => p.child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  try {
    return await p.exited
  } finally {
    clearTimeout(timer)
  }
}

/** A fresh temp dir (unique per process and call); remove it with {@link removeTempDir}. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `peer-cli-${label}-${process.pid}-`))
}

export function removeTempDir(dir: string | undefined): Promise<void> {
  return dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true })
}

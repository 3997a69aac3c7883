// Runs an example file with plain `node` (no loader, no export conditions), optionally inside a
// network namespace, and returns its output; a non-zero exit or a timeout rejects with the output.
import { type ChildProcess, execFile } from 'node:child_process'

const running = new Set<ChildProcess>()

/** SIGKILLs every example still running (for afterAll: nothing outlives the test run). */
export function killRunningExamples(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

/** Options of {@link runWithNode}. */
export interface RunWithNodeOptions {
  /** Working directory: the scratch project, so `@peer/*` resolves to the installed tarballs. */
  cwd: string
  env?: Record<string, string>
  /** Run as `ip netns exec <netns> node <file>`. */
  netns?: string | undefined
  /** The example must exit by itself within this; it is SIGKILLed after. Default 120 s. */
  timeoutMs?: number
}

/** The output of a finished example. */
export interface ExampleOutput {
  stdout: string
  stderr: string
  /** Wall time in ms. */
  elapsedMs: number
}

/** Runs `node <file>`; rejects when it exits non-zero or does not exit within `timeoutMs`. */
export function runWithNode(file: string, options: RunWithNodeOptions): Promise<ExampleOutput> {
  const { cwd, env = {}, netns, timeoutMs = 120_000 } = options
  const [command, args] =
    netns === undefined
      ? [process.execPath, [file]]
      : ['ip', ['netns', 'exec', netns, process.execPath, file]]
  const started = performance.now()
  // NODE_OPTIONS from the test runner (vitest's loaders) must not reach the example
  const { NODE_OPTIONS: _, ...inherited } = process.env
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        cwd,
        env: { ...inherited, ...env },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        running.delete(child)
        const elapsedMs = Math.round(performance.now() - started)
        if (error) {
          const why = error.killed ? `did not exit within ${timeoutMs} ms` : `exited with ${error.code}`
          reject(new Error(`${file} ${why}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`, { cause: error }))
        } else resolve({ stdout, stderr, elapsedMs })
      },
    )
    running.add(child)
  })
}

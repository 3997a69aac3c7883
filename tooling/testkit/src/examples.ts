// Runs a package example the way a user would (tsx, sources through the @peer/source condition)
// and returns its output, so README examples are executed in CI.
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const tsxCli = createRequire(join(root, 'package.json')).resolve('tsx/cli')

/** Runs `file` (absolute, or relative to the repo root) with tsx and `args`; rejects on a non-zero exit or timeout. */
export function runExample(
  file: string,
  { timeoutMs = 30_000, env = {} as Record<string, string>, args = [] as string[] } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsxCli, '--conditions=@peer/source', file, ...args],
      { cwd: root, timeout: timeoutMs, env: { ...process.env, ...env }, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }))
        else resolve({ stdout, stderr })
      },
    )
  })
}

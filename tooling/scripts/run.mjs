#!/usr/bin/env node
// Entry point for the README's two commands (`npm run demo`, `npm test`). It needs only Node.js and
// npm: it fetches the pinned pnpm through npx when pnpm is missing, installs the workspace when
// node_modules is missing or stale, then runs the task.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runNodeMatrix } from './node-matrix.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const pnpmVersion = JSON.parse(
  (await import('node:fs')).readFileSync(join(root, 'package.json'), 'utf8'),
).packageManager.split('@')[1]

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (res.error) throw res.error
  return res.status ?? 1
}

function hasPnpm() {
  const res = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  return res.status === 0 && res.stdout.trim().startsWith('10.')
}

const pnpm = hasPnpm() ? ['pnpm'] : ['npx', '--yes', `pnpm@${pnpmVersion}`]

function pnpmRun(args) {
  return run(pnpm[0], [...pnpm.slice(1), ...args])
}

function ensureInstalled() {
  const marker = join(root, 'node_modules', '.modules.yaml')
  const lock = join(root, 'pnpm-lock.yaml')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return
  const frozen = process.env.CI ? ['--frozen-lockfile'] : ['--prefer-offline']
  const status = pnpmRun(['install', ...frozen])
  if (status !== 0) process.exit(status)
}

const [task = 'test', ...rest] = process.argv.slice(2)
process.env.TURBO_TELEMETRY_DISABLED = '1'
process.env.DO_NOT_TRACK = '1'

ensureInstalled()

switch (task) {
  case 'demo': {
    process.exit(pnpmRun(['--silent', 'run', 'demo:run', ...rest]))
    break
  }
  case 'test': {
    // System services the integration tests start themselves (etcd, dnsmasq, avahi): install them
    // when missing and we are allowed to (root with apt); never started as system services.
    const sys = run('bash', [join(root, 'tooling', 'scripts', 'setup-system.sh')])
    if (sys !== 0) process.exit(sys)
    const steps = [
      { args: ['run', 'lint'] },
      { args: ['run', 'typecheck'] },
      // the public API of every package against its committed report (packages/*/api/*.api.md)
      { args: ['run', 'api:check'] },
      // the API docs (docs/api), typedoc warnings as errors
      { args: ['run', 'docs:api'] },
      { args: ['exec', 'vitest', 'run', ...rest] },
    ]
    // The run above uses the default QUIC engine (quinn), and the transport conformance suite in it
    // runs every engine pair explicitly. The transport's other tests, the registry's and the node's
    // run once more on matrixai, so `npm test` covers both engines (a race between a replaced
    // connection and new calls showed only there).
    if (rest.length === 0) {
      steps.push({
        args: [
          'exec',
          'vitest',
          'run',
          '--project',
          'transport-quic',
          '--project',
          'registry',
          '--project',
          'node',
          '--exclude',
          '**/conformance/**',
        ],
        env: { PEER_QUIC_ENGINE: 'matrixai' },
      })
    }
    for (const { args, env } of steps) {
      const started = Date.now()
      const status = run(pnpm[0], [...pnpm.slice(1), ...args], {
        env: { ...process.env, ...(env ?? {}) },
      })
      console.log(
        `[run] ${args.join(' ')}${env ? ` (${JSON.stringify(env)})` : ''}: exit ${status} in ${Math.round((Date.now() - started) / 1000)} s`,
      )
      if (status !== 0) process.exit(status)
    }
    // the unit tests and conformance kits again on the other supported Node.js majors (22, 24)
    const matrixStarted = Date.now()
    const matrix = await runNodeMatrix(root)
    console.log(`[run] node matrix: exit ${matrix} in ${Math.round((Date.now() - matrixStarted) / 1000)} s`)
    if (matrix !== 0) process.exit(matrix)
    break
  }
  default:
    console.error(`unknown task "${task}": use "demo" or "test"`)
    process.exit(2)
}

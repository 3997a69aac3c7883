// The packages as a user gets them: built, packed with `pnpm pack` (which rewrites `workspace:`
// ranges; `npm pack` would leave them in and `npm install` would then fail), and installed with
// plain `npm install` into a scratch project under os.tmpdir(), outside the workspace, so nothing
// resolves through the workspace's node_modules or the `@peer/source` condition.
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { onExit } from '@peer/testkit/exit-cleanup'

const run = promisify(execFile)

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** A package of the workspace that is published (packages/*, not private). */
export interface PublishedPackage {
  /** `@peer/...` */
  readonly name: string
  /** Its directory in the workspace. */
  readonly sourceDir: string
  /** The packed tarball. */
  tarball: string
  /** Where npm installed it in the scratch project. */
  installedDir: string
}

/** The scratch project holding every published package, installed from tarballs. */
export interface ScratchProject {
  /** The project directory (outside the workspace). */
  readonly dir: string
  readonly packages: readonly PublishedPackage[]
  /** Removes every temporary directory. Idempotent. */
  cleanup(): Promise<void>
}

/** Options of {@link installPublished}. */
export interface InstallPublishedOptions {
  signal?: AbortSignal
  /** Called with a line per step (build, pack, install) and how long it took. */
  onStep?: (line: string) => void
}

/** The non-private packages under packages/. */
export async function publishedPackages(): Promise<{ name: string; sourceDir: string }[]> {
  const out: { name: string; sourceDir: string }[] = []
  for (const entry of (await readdir(join(repoRoot, 'packages'), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (!entry.isDirectory()) continue
    const sourceDir = join(repoRoot, 'packages', entry.name)
    const manifest = JSON.parse(await readFile(join(sourceDir, 'package.json'), 'utf8')) as {
      name: string
      private?: boolean
    }
    if (!manifest.private) out.push({ name: manifest.name, sourceDir })
  }
  return out
}

async function step<T>(label: string, onStep: ((line: string) => void) | undefined, fn: () => Promise<T>) {
  const started = performance.now()
  const result = await fn()
  onStep?.(`${label}: ${Math.round(performance.now() - started)} ms`)
  return result
}

/**
 * Builds every package (turbo, so an unchanged package is a cache hit), packs each into a temporary
 * directory and installs all the tarballs with npm into a new scratch project under os.tmpdir().
 * On failure every temporary directory is removed before the error is thrown.
 */
export async function installPublished({
  signal,
  onStep,
}: InstallPublishedOptions = {}): Promise<ScratchProject> {
  const base = await mkdtemp(join(tmpdir(), 'peer-published-'))
  // removed by cleanup(), or at the latest when the process exits
  const forget = onExit(() => rmSync(base, { recursive: true, force: true }))
  const cleanup = async () => {
    forget()
    await rm(base, { recursive: true, force: true })
  }
  try {
    // no telemetry, no remote cache: the build talks to nobody
    const env = {
      ...process.env,
      TURBO_TELEMETRY_DISABLED: '1',
      DO_NOT_TRACK: '1',
      TURBO_NO_UPDATE_NOTIFIER: '1',
    }
    await step('build', onStep, () =>
      run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'], {
        cwd: repoRoot,
        env,
        signal,
        maxBuffer: 64 * 1024 * 1024,
      }),
    )
    const tarballs = join(base, 'tarballs')
    const packages: PublishedPackage[] = []
    await step('pack', onStep, async () => {
      for (const { name, sourceDir } of await publishedPackages()) {
        const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', tarballs], {
          cwd: sourceDir,
          env,
          signal,
        })
        const { filename } = JSON.parse(stdout) as { filename: string }
        packages.push({ name, sourceDir, tarball: filename, installedDir: '' })
      }
    })
    const dir = join(base, 'project')
    await step('npm install', onStep, async () => {
      await run('mkdir', [dir])
      await writeFile(
        join(dir, 'package.json'),
        `${JSON.stringify({ name: 'scratch', private: true, type: 'module' }, null, 2)}\n`,
      )
      await run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages.map((p) => p.tarball)],
        {
          cwd: dir,
          env: { ...env, npm_config_update_notifier: 'false' },
          signal,
          maxBuffer: 64 * 1024 * 1024,
        },
      )
    })
    for (const pkg of packages) pkg.installedDir = join(dir, 'node_modules', ...pkg.name.split('/'))
    return { dir, packages, cleanup }
  } catch (error) {
    await cleanup()
    throw error
  }
}

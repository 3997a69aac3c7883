#!/usr/bin/env node
// API reports: one `packages/<pkg>/api/<entry>.api.md` per public entry point of every package (the
// `exports` map less `./internal`), written by api-extractor from the built declarations. `npm test`
// runs `pnpm api:check`, which fails when a report differs from the code (an accidental public
// change shows up in review), when a public signature uses a type the entry point does not export
// (ae-forgotten-export) or on any other api-extractor warning. `pnpm api:update` rewrites the reports
// after an intended change; commit them with it.
//
// Usage: node tooling/scripts/api-report.mjs check|update [--no-build] [package...]
// Both build the packages first (turbo, cached) unless --no-build. Prints the number of public
// exports per entry point.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const args = process.argv.slice(2)
const mode = args[0]
if (mode !== 'check' && mode !== 'update') {
  console.error('usage: api-report.mjs check|update [--no-build] [package...]')
  process.exit(2)
}
const build = !args.includes('--no-build')
const only = args.slice(1).filter((a) => !a.startsWith('--'))

const packagesDir = join(root, 'packages')
const packages = readdirSync(packagesDir)
  .filter((name) => existsSync(join(packagesDir, name, 'package.json')))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort()

if (build) {
  const res = spawnSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    },
  )
  if (res.status !== 0) process.exit(res.status ?? 1)
}

/** The public entry points of a package: subpath -> built declaration file. */
function entryPoints(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  const out = []
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    if (subpath === './internal' || subpath === './package.json') continue
    const types = typeof target === 'object' ? target.types : undefined
    if (typeof types !== 'string') continue
    out.push({ subpath, types: join(pkgDir, types), name: pkg.name })
  }
  return out
}

/** Counts the names a report declares as exported. */
function countExports(report) {
  const names = new Set()
  for (const m of report.matchAll(
    /^export (?:declare )?(?:abstract )?(?:class|function|const|let|type|interface|enum|namespace) (\w+)/gm,
  )) {
    names.add(m[1])
  }
  for (const m of report.matchAll(/^export \{([^}]*)\}/gm)) {
    for (const part of m[1].split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
      if (name) names.add(name)
    }
  }
  return names.size
}

const temp = mkdtempSync(join(tmpdir(), 'peer-api-'))
let failed = 0
const counts = []
try {
  for (const pkg of packages) {
    const pkgDir = join(packagesDir, pkg)
    for (const entry of entryPoints(pkgDir)) {
      const reportName = entry.subpath === '.' ? pkg : `${pkg}-${entry.subpath.slice(2).replaceAll('/', '-')}`
      if (!existsSync(entry.types)) {
        console.error(`api: ${entry.name} ${entry.subpath}: ${entry.types} is missing (build first)`)
        failed++
        continue
      }
      mkdirSync(join(pkgDir, 'api'), { recursive: true })
      const config = ExtractorConfig.prepare({
        configObject: {
          projectFolder: pkgDir,
          mainEntryPointFilePath: entry.types,
          compiler: {
            // the built declarations only; dependencies resolve through node_modules to their dist/
            overrideTsconfig: {
              compilerOptions: {
                target: 'ES2022',
                lib: ['ES2023', 'ESNext.Disposable', 'DOM'],
                module: 'NodeNext',
                moduleResolution: 'NodeNext',
                strict: true,
                skipLibCheck: true,
                types: ['node'],
              },
              include: ['dist'],
            },
          },
          apiReport: {
            enabled: true,
            reportFileName: reportName,
            reportFolder: join(pkgDir, 'api'),
            reportTempFolder: temp,
          },
          docModel: { enabled: false },
          dtsRollup: { enabled: false },
          tsdocMetadata: { enabled: false },
          newlineKind: 'lf',
          messages: {
            compilerMessageReporting: { default: { logLevel: 'warning' } },
            extractorMessageReporting: {
              default: { logLevel: 'warning', addToApiReportFile: false },
              'ae-missing-release-tag': { logLevel: 'none' },
              'ae-internal-missing-underscore': { logLevel: 'none' },
              // every public symbol and member has a doc comment (a summary, not only @deprecated):
              // an undocumented one fails the check, here where every entry point is seen
              'ae-undocumented': { logLevel: 'warning', addToApiReportFile: false },
              // {@link} targets are typedoc's job (`pnpm docs:api`, which fails on a broken one)
              'ae-unresolved-link': { logLevel: 'none' },
            },
            tsdocMessageReporting: { default: { logLevel: 'none' } },
          },
        },
        configObjectFullPath: join(pkgDir, 'api-extractor.json'),
        packageJsonFullPath: join(pkgDir, 'package.json'),
      })
      let warnings = 0
      const result = Extractor.invoke(config, {
        localBuild: mode === 'update',
        showVerboseMessages: false,
        messageCallback(message) {
          // "the report changed" is reported below, once and in our words
          if (
            [
              'console-api-report-changed',
              'console-api-report-copied',
              'console-api-report-created',
            ].includes(message.messageId)
          ) {
            message.handled = true
            return
          }
          if (
            message.logLevel === ExtractorLogLevel.Warning ||
            message.logLevel === ExtractorLogLevel.Error
          ) {
            warnings++
            message.handled = true
            const where = message.sourceFilePath
              ? ` (${message.sourceFilePath.replace(`${root}/`, '')}:${message.sourceFileLine})`
              : ''
            console.error(
              `api: ${entry.name} ${entry.subpath}: ${message.messageId}: ${message.text}${where}`,
            )
          } else if (
            message.logLevel === ExtractorLogLevel.Info ||
            message.logLevel === ExtractorLogLevel.Verbose
          ) {
            message.handled = true
          }
        },
      })
      const reportFile = join(pkgDir, 'api', `${reportName}.api.md`)
      const report = existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : ''
      counts.push({
        entry: `${entry.name}${entry.subpath === '.' ? '' : entry.subpath.slice(1)}`,
        exports: countExports(report),
      })
      let entryFailed = warnings > 0 || result.errorCount > 0
      if (result.apiReportChanged && mode === 'check') {
        console.error(
          `api: ${entry.name} ${entry.subpath}: the public API differs from packages/${pkg}/api/${reportName}.api.md` +
            ` (diff ${config.reportTempFolder}/${reportName}.api.md against it). If the change is intended, run` +
            ' `pnpm api:update` and commit the report.',
        )
        spawnSync('diff', ['-u', reportFile, join(temp, `${reportName}.api.md`)], { stdio: 'inherit' })
        entryFailed = true
      } else if (result.apiReportChanged) {
        console.error(`api: updated packages/${pkg}/api/${reportName}.api.md`)
      }
      if (entryFailed) failed++
    }
  }
} finally {
  rmSync(temp, { recursive: true, force: true })
}

console.log('public exports per entry point:')
for (const { entry, exports } of counts) console.log(`  ${entry.padEnd(34)} ${exports}`)
console.log(`  ${'total'.padEnd(34)} ${counts.reduce((n, c) => n + c.exports, 0)}`)
if (failed > 0) {
  console.error(`api: ${failed} entry point(s) failed`)
  process.exit(1)
}

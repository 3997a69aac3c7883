// The guard in src/no-uncaught.ts fails the very test during which an uncaught exception or an
// unhandled rejection happened. Run a fixture suite in a child vitest and read its JSON report.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const FIXTURE = fileURLToPath(new URL('./fixtures/uncaught/', import.meta.url))

it('fails exactly the tests that leaked an uncaught error', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'peer-uncaught-'))
  try {
    const out = join(dir, 'report.json')
    const res = spawnSync(
      process.execPath,
      [
        join(dirname(fileURLToPath(import.meta.resolve('vitest/package.json'))), 'vitest.mjs'),
        'run',
        '--root',
        FIXTURE,
        '--reporter=json',
        `--outputFile=${out}`,
      ],
      { encoding: 'utf8', env: { ...process.env, CI: '' }, timeout: 110_000 },
    )
    expect(res.status, res.stderr).toBe(1)
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      testResults: Array<{
        assertionResults: Array<{ title: string; status: string; failureMessages: string[] }>
      }>
    }
    const results = Object.fromEntries(
      report.testResults.flatMap((f) => f.assertionResults).map((r) => [r.title, r]),
    )
    expect(results['clean test']?.status).toBe('passed')
    expect(results['leaks an uncaught exception from a timer']?.status).toBe('failed')
    expect(results['leaks an uncaught exception from a timer']?.failureMessages.join('\n')).toContain(
      'Error: boom from a socket callback',
    )
    expect(results['leaks an unhandled rejection']?.status).toBe('failed')
    expect(results['leaks an unhandled rejection']?.failureMessages.join('\n')).toContain(
      'Error: nobody awaited me',
    )
    // a callback that fires just after the test body returned still fails that test, not the next
    expect(results['leaks an error just after it returns']?.status).toBe('failed')
    expect(results['leaks an error just after it returns']?.failureMessages.join('\n')).toContain(
      'late callback',
    )
    expect(results['innocent bystander']?.status).toBe('passed')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// The README's "other runners" snippet (examples/other-runner.ts, quoted in the README character
// for character) declares skipped scenarios as skipped, never runs them, and runs the others.
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { declareCompliance, type TestFunction } from '../examples/other-runner.js'
import { scenarios } from '../src/index.js'
import { clearLeakedTimers, memoryHarness } from './memory-backend.js'

afterEach(clearLeakedTimers)

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')

function recordingRunner() {
  const run: Array<{ name: string; fn: () => Promise<void> }> = []
  const skipped: string[] = []
  const test = Object.assign((name: string, fn: () => Promise<void>) => run.push({ name, fn }), {
    skip: (name: string) => skipped.push(name),
  }) satisfies TestFunction
  return { test, run, skipped }
}

describe('examples/other-runner.ts', () => {
  it('is what the README shows', async () => {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8')
    const quoted = /<!-- file: examples\/other-runner\.ts -->\n```ts\n([\s\S]*?)```\n/.exec(readme)?.[1]
    expect(quoted).toBe(await readFile(join(packageDir, 'examples', 'other-runner.ts'), 'utf8'))
  })

  it('skips by capability and runs the rest', async () => {
    // a read-only backend: no announce, and a harness that cannot seed either
    const readOnly = () => ({ ...memoryHarness(), seed: undefined, unseed: undefined })
    const { test, run, skipped } = recordingRunner()
    declareCompliance(test, readOnly, ['list', 'watch'])
    expect(run.length + skipped.length).toBe(scenarios.length + 1)
    expect(skipped).toContain(
      "announcing an invalid record is rejected [skipped: backend lacks capability 'announce']",
    )
    expect(skipped).toContain(
      "a record that expires in the medium produces peer:lost (capability expiry) [skipped: backend lacks capability 'expiry']",
    )
    expect(skipped.some((name) => name.startsWith('one instance publishes'))).toBe(true)
    expect(run.map((t) => t.name)).toContain('looking up an unknown peer resolves undefined')
    for (const t of run.filter(
      (t) => t.name.startsWith('looking up') || t.name.startsWith('start and stop'),
    )) {
      await t.fn()
    }
  })

  it('a scenario it runs can fail', async () => {
    const { test, run } = recordingRunner()
    declareCompliance(test, () => memoryHarness('start-not-idempotent'), [
      'announce',
      'list',
      'watch',
      'expiry',
    ])
    const lifecycle = run.find((t) => t.name.startsWith('start and stop'))!
    await expect(lifecycle.fn()).rejects.toThrow(/already started/)
  })
})

// Prints one plain closing line ("Tests: N passed, N failed, N skipped") that CI log readers
// recognise, after vitest's own summary, and the slowest test files (where the run's time goes).
import type { Reporter, TestModule } from 'vitest/node'

const SLOWEST = 12

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0
    let failed = 0
    let skipped = 0
    const durations: Array<{ file: string; ms: number }> = []
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
      durations.push({ file: `${mod.project.name}: ${mod.relativeModuleId}`, ms: mod.diagnostic().duration })
    }
    durations.sort((a, b) => b.ms - a.ms)
    const lines = durations
      .slice(0, SLOWEST)
      .map(({ file, ms }) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`)
    process.stdout.write(`\nSlowest test files:\n${lines.join('\n')}\n`)
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}

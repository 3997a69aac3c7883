// The whole suite in one run: every package and tooling project with its own vitest.config.ts.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'tooling/*/vitest.config.ts'],
    reporters: process.env.CI ? ['default', './tooling/scripts/summary-reporter.ts'] : ['default'],
  },
})

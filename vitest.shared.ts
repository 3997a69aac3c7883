// Shared vitest settings for every workspace project: tests run against sources through the
// `@peer/source` export condition, so a test run needs no prior build.
import { defineProject } from 'vitest/config'

// vite's default server conditions, with ours first
const conditions = ['@peer/source', 'module', 'node', 'development|production']

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@peer/source'] } },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    include: ['test/**/*.test.ts'],
  },
})

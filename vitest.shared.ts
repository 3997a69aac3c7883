// Shared vitest settings for every workspace project: tests run against sources through the
// `@peer/source` export condition, so a test run needs no prior build.
import { fileURLToPath } from 'node:url'
import { defineProject } from 'vitest/config'

// vite's default server conditions, with ours first
const conditions = ['@peer/source', 'module', 'node', 'development|production']

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@peer/source'] } },
  test: {
    environment: 'node',
    // generous: the machine is shared and its load varies tenfold; tests wait on conditions, so a
    // higher limit only matters when a test is slow, never when it is correct
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
    // any uncaught exception or unhandled rejection fails the test during which it happened
    setupFiles: [fileURLToPath(new URL('./tooling/testkit/src/no-uncaught.ts', import.meta.url))],
  },
})

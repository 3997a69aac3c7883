import { fileURLToPath } from 'node:url'
import { defineProject, mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.ts'

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: 'discovery-mdns',
      // no mDNS socket may ever be opened in the root namespace, where the test process runs
      setupFiles: [
        fileURLToPath(new URL('../../tooling/testkit/src/root-namespace-guard.ts', import.meta.url)),
      ],
    },
  }),
)

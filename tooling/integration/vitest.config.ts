import { defineProject, mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.ts'

// build + pack + npm install happen once per run in a beforeAll: give hooks room on a loaded machine
export default mergeConfig(
  shared,
  defineProject({ test: { name: 'integration', hookTimeout: 900_000, testTimeout: 120_000 } }),
)

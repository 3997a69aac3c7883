import { defineProject, mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.ts'

// vitest hands the resolve conditions to Node (`--conditions`) for external modules too, and
// @opentelemetry/*'s `module` build has extensionless imports Node cannot load: this project
// resolves without the `module` condition (Node itself never uses it, so this is what users get)
const conditions = (shared.resolve?.conditions ?? []).filter((c) => c !== 'module')

export default mergeConfig(
  {
    ...shared,
    resolve: { ...shared.resolve, conditions },
    ssr: { ...shared.ssr, resolve: { ...shared.ssr?.resolve, conditions } },
  },
  defineProject({ test: { name: 'node' } }),
)

import { createRequire } from 'node:module'

/** The package version, shown by `peer --version` and reported by `peer status`. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version

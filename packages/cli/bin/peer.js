#!/usr/bin/env node
// The `peer` command. Runs the compiled CLI in ../dist (build it with `pnpm --filter @peer/cli build`,
// or `pnpm build` at the repository root). From sources, without building:
//   pnpm exec tsx --conditions=@peer/source packages/cli/src/main.ts <command>
try {
  await import('../dist/main.js')
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('/dist/main.js')) {
    process.stderr.write(
      'peer: the CLI is not built (dist/main.js is missing): run `pnpm build`, or run from sources with\n' +
        '  pnpm exec tsx --conditions=@peer/source packages/cli/src/main.ts <command>\n',
    )
    process.exit(1)
  }
  throw error
}

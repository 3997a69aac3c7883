#!/usr/bin/env node
// `pnpm fuzz [vitest args]`: the long fuzz run. Runs every `*.fuzz.test.ts` file of every project
// with PEER_FUZZ_RUNS=100000 cases per property (unless PEER_FUZZ_RUNS is already set) and the fixed
// seed (or PEER_FUZZ_SEED). Extra arguments go to vitest, e.g. `pnpm fuzz --project node`.
// See docs/fuzzing.md.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const env = { ...process.env, PEER_FUZZ_RUNS: process.env.PEER_FUZZ_RUNS ?? '100000' }
const args = ['exec', 'vitest', 'run', '.fuzz.test.ts', ...process.argv.slice(2)]
console.error(
  `fuzz: ${env.PEER_FUZZ_RUNS} cases per property, seed ${env.PEER_FUZZ_SEED ?? 'default (0x5eed)'}`,
)
const res = spawnSync('pnpm', args, { stdio: 'inherit', cwd: root, env })
if (res.error) throw res.error
process.exit(res.status ?? 1)

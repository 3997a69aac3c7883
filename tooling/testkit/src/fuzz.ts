// Settings shared by every property/fuzz test (fast-check): a fixed seed so a failure replays, a
// short run in CI and a long one on demand (`pnpm fuzz` sets PEER_FUZZ_RUNS=100000).
//
//   import fc from 'fast-check'
//   import { fuzzParams } from '@peer/testkit/fuzz'
//   fc.assert(fc.property(fc.uint8Array(), (bytes) => { ... }), fuzzParams())
import type { Parameters } from 'fast-check'

/** Cases per property: PEER_FUZZ_RUNS, else `ciRuns` (default 2,000). */
export function fuzzRuns(ciRuns = 2000): number {
  const env = Number(process.env.PEER_FUZZ_RUNS)
  return Number.isInteger(env) && env > 0 ? env : ciRuns
}

/** Seed: PEER_FUZZ_SEED, else a fixed one (reproducible CI). */
export function fuzzSeed(): number {
  const env = Number(process.env.PEER_FUZZ_SEED)
  return Number.isInteger(env) ? env : 0x5eed
}

/**
 * fast-check parameters for one property: seeded, `numRuns` from the environment. PEER_FUZZ_PATH
 * (the `path` fast-check prints with a failure) replays just that case: use it with `-t <test>`.
 */
export function fuzzParams<T>(ciRuns?: number, extra: Parameters<T> = {}): Parameters<T> {
  const path = process.env.PEER_FUZZ_PATH
  return { seed: fuzzSeed(), numRuns: fuzzRuns(ciRuns), ...(path ? { path } : {}), ...extra }
}

/** Timeout for a fuzz test: scales with the number of runs (generous: the machine is shared). */
export function fuzzTimeoutMs(ciRuns = 2000, perCaseMs = 5): number {
  return Math.max(60_000, fuzzRuns(ciRuns) * perCaseMs)
}

// Statistics, interleaving, watchdogs, CPU metering and the load average, shared by the suites.
import { loadavg } from 'node:os'
import type { RpcChild } from '@peer/testkit/child-process'

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

/** The 50th percentile as `percentile` takes it (the upper middle of an even count), of unsorted values. */
export const p50 = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  )

/** The 1-minute load average, as reports print it. */
export const load1m = (): string => loadavg()[0]!.toFixed(2)

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  if (s.length === 0) return Number.NaN
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export const fmtList = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(' / ')

/** Adds counts by key (errors by name, say) from `from` into `into`. */
export function addCounts(into: Map<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, n] of Object.entries(from)) into.set(key, (into.get(key) ?? 0) + n)
}

/** Counts by key as text: `3 RequestTimeoutError, 1 PeerUnavailableError/replaced`. */
export const fmtCounts = (counts: ReadonlyMap<string, number>): string =>
  [...counts].map(([key, n]) => `${n} ${key}`).join(', ')

/**
 * The order of `items` in round `round`: rotated by the round number, reversed every other round,
 * so over 2 x n rounds every item runs in every position and before and after every other one.
 */
export function orderFor<T>(items: readonly T[], round: number): T[] {
  const n = items.length
  const rotated = items.map((_, i) => items[(i + round) % n] as T)
  return Math.floor(round / n) % 2 === 1 ? rotated.reverse() : rotated
}

/** Rejects when `promise` has not settled within `ms` (a stuck run fails instead of hanging). */
export async function watchdog<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs `rounds` rounds of every stack (order from {@link orderFor}), each run under a watchdog.
 * Returns every stack's values per round, in round order.
 */
export async function interleaved<S extends string>(
  stacks: readonly S[],
  rounds: number,
  measure: (stack: S, round: number) => Promise<number>,
  timeoutMs = 60_000,
): Promise<Record<S, number[]>> {
  const values = Object.fromEntries(stacks.map((s) => [s, [] as number[]])) as Record<S, number[]>
  for (let round = 0; round < rounds; round++) {
    for (const stack of orderFor(stacks, round)) {
      values[stack][round] = await watchdog(measure(stack, round), timeoutMs, `round ${round} ${stack}`)
    }
  }
  return values
}

/** Per-round ratios `a[i] / b[i]`. */
export const ratios = (a: number[], b: number[]) => a.map((v, i) => v / (b[i] ?? Number.NaN))

/**
 * CPU time (client + server process, user + system) of the measured part of one run. The RPC calls
 * to the server happen outside the timed part.
 */
export class CpuMeter {
  us = 0
  #client: NodeJS.CpuUsage | undefined
  #server = 0
  constructor(private readonly child: RpcChild | undefined) {}
  async begin(): Promise<void> {
    this.#server = this.child ? await this.child.call<number>('cpu') : 0
    this.#client = process.cpuUsage()
  }
  async end(): Promise<void> {
    const c = process.cpuUsage(this.#client)
    this.us = c.user + c.system + (this.child ? (await this.child.call<number>('cpu')) - this.#server : 0)
  }
}

/** The load average line of `uptime`, for the report. */
export async function loadAverage(): Promise<string> {
  const { loadavg } = await import('node:os')
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(', ')
}

// Timing helpers of `peer ping` (by node and by service).
import { setTimeout as wait } from 'node:timers/promises'

/** Milliseconds rounded to microseconds, as ping prints them. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/** Waits `ms`, or less when `signal` aborts (then resolves: the caller checks the signal). */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await wait(ms, undefined, { signal }).catch(() => {})
}

/** min/avg/max of the round trips, rounded as ping prints them (undefined when none came back). */
export function rttSummary(rtts: readonly number[]): {
  min: number | undefined
  avg: number | undefined
  max: number | undefined
} {
  if (rtts.length === 0) return { min: undefined, avg: undefined, max: undefined }
  return {
    min: roundMs(Math.min(...rtts)),
    avg: roundMs(rtts.reduce((a, b) => a + b, 0) / rtts.length),
    max: roundMs(Math.max(...rtts)),
  }
}

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

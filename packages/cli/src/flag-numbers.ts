// The numbers of command-line flags (`--duration <seconds>`, `--interval <ms>`, `--count <n>`,
// `--nodes <n>`): plain decimal only (`Number()` would take `0x10`, `1e3`, ` 5 ` and `''`), and a
// duration no longer than a Node.js timer holds (a longer one fired at once, with a warning).
import { MAX_TIMER_MS } from '@peer/discovery-core/internal'
import { InvalidArgumentError } from 'commander'

const DECIMAL = /^\d+(\.\d+)?$/
const INTEGER = /^\d+$/
/** The longest `--duration <seconds>` a timer holds: 2,147,483 s (about 24.8 days). */
export const MAX_FLAG_SECONDS = Math.floor(MAX_TIMER_MS / 1000)

/** A positive number of seconds, e.g. `20` or `0.5`, at most {@link MAX_FLAG_SECONDS}. */
export function parseSeconds(value: string): number {
  const n = DECIMAL.test(value) ? Number(value) : Number.NaN
  if (!(n > 0 && n <= MAX_FLAG_SECONDS)) {
    throw new InvalidArgumentError(`expected a positive number of seconds, at most ${MAX_FLAG_SECONDS}`)
  }
  return n
}

/** A positive integer of milliseconds, at most `MAX_TIMER_MS` (2,147,483,647). */
export function parseMillis(value: string): number {
  const n = INTEGER.test(value) ? Number(value) : Number.NaN
  if (!(n > 0 && n <= MAX_TIMER_MS)) {
    throw new InvalidArgumentError(`expected a positive integer of milliseconds, at most ${MAX_TIMER_MS}`)
  }
  return n
}

/** An integer in `min`-`max` (a count of pings, of demo nodes). */
export function parseInteger(value: string, min: number, max: number): number {
  const n = INTEGER.test(value) ? Number(value) : Number.NaN
  if (!(n >= min && n <= max)) throw new InvalidArgumentError(`expected an integer in ${min}-${max}`)
  return n
}

// The request table's answer latency, which `request({ service })` weighs providers by: the fastest
// answer but the first, once eight answered, decayed over time since the last answer.
import { expect, it } from 'vitest'
import { LATENCY_DECAY_MS, LATENCY_MIN_ANSWERS, RequestTable } from '../src/request-table.js'

/** Sends one request through `table` and answers it after `ms` of waiting; resolves with the time it took. */
async function answerAfter(table: RequestTable, ms: number): Promise<number> {
  const started = performance.now()
  const id = table.allocate()
  const answered = table.wait('req', id, 't', 60_000, undefined, async () => {})
  await new Promise((resolve) => setTimeout(resolve, ms))
  table.take(id, 'req', 't')!.settle(undefined, 'ok')
  const took = performance.now() - started
  await answered
  return took
}

it('is 0 until eight answers, then the fastest but the first, decaying since the last answer', async () => {
  const table = new RequestTable(
    'peer',
    10,
    () => {},
    () => {},
  )
  expect(table.latency()).toBe(0)
  // the first answer runs cold: never counted
  await answerAfter(table, 60)
  const took: number[] = []
  for (let i = 2; i < LATENCY_MIN_ANSWERS; i++) {
    took.push(await answerAfter(table, 30))
    expect(table.latency()).toBe(0)
  }
  took.push(await answerAfter(table, 30))
  const fastest = table.latency(performance.now())
  expect(fastest).toBeLessThanOrEqual(Math.min(...took))
  expect(fastest).toBeGreaterThan(Math.min(...took) - 5)
  // a slower answer does not raise it (one slow answer under load says nothing of the path)
  const slow = await answerAfter(table, 300)
  expect(slow).toBeGreaterThan(Math.min(...took))
  expect(table.latency()).toBeLessThanOrEqual(Math.min(...took))
  // forgotten over time: by e every LATENCY_DECAY_MS after the last answer
  const at = performance.now()
  expect(table.latency(at + LATENCY_DECAY_MS)).toBeCloseTo(table.latency(at) / Math.E, 5)
  expect(table.latency(at + 10 * LATENCY_DECAY_MS)).toBeLessThan(0.01)
})

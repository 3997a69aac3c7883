// judgeReplacement: which connection replacements mean two live nodes share one id.
import { expect, it } from 'vitest'
import { ID_CONFLICT_WINDOW_MS, judgeReplacement, type ReplacementEnd } from '../src/id-conflict.js'

const conn = (direction: 'inbound' | 'outbound' | undefined, port: number): ReplacementEnd => ({
  direction,
  connection: {
    remoteId: 'x',
    remoteAddress: { host: '127.0.0.1', port },
    close() {},
    closed: new Promise(() => {}),
  },
})

/** Runs replacements in order (each [previous, next, at]) and returns the verdicts. */
function run(steps: Array<[ReplacementEnd, ReplacementEnd, number]>): boolean[] {
  let last: ReturnType<typeof judgeReplacement>['remember']
  return steps.map(([previous, next, at]) => {
    const verdict = judgeReplacement(last, previous, next, at)
    last = verdict.remember
    return verdict.conflict
  })
}

it('two copies dialing in from two addresses, back and forth: a conflict from the second swap on', () => {
  const a = conn('inbound', 5001)
  const b = conn('inbound', 5002)
  expect(
    run([
      [a, b, 0],
      [b, a, 1000],
      [a, b, 2000],
      [b, a, 3000],
    ]),
  ).toEqual([false, true, true, true])
  const verdict = judgeReplacement({ address: '127.0.0.1:5002', at: 0 }, b, a, 10)
  expect(verdict.addresses).toEqual(['127.0.0.1:5002', '127.0.0.1:5001'])
})

it('a restarted peer (same address, or a new one each time) is never a conflict', () => {
  const [a, b, c] = [conn('inbound', 5001), conn('inbound', 5002), conn('inbound', 5003)]
  expect(
    run([
      [a, a, 0],
      [a, a, 1000],
      [a, a, 2000],
    ]),
  ).toEqual([false, false, false])
  expect(
    run([
      [a, b, 0],
      [b, c, 1000],
      [c, a, 2000],
    ]),
  ).toEqual([false, false, false])
})

it('our dial and the peer dial (listener and client endpoint of one node) alternating are not a conflict', () => {
  const listener = conn('outbound', 4000)
  const client = conn('inbound', 5001)
  // a simultaneous dial, then a stall probe, then the peer redialing, then another probe
  expect(
    run([
      [listener, client, 0],
      [client, listener, 1000],
      [listener, client, 2000],
      [client, listener, 3000],
    ]),
  ).toEqual([false, false, false, false])
})

it('a swap back after the window is not counted; unknown addresses or directions never are', () => {
  const [a, b] = [conn('inbound', 5001), conn('inbound', 5002)]
  expect(
    run([
      [a, b, 0],
      [b, a, ID_CONFLICT_WINDOW_MS + 1],
    ]),
  ).toEqual([false, false])
  const unknown: ReplacementEnd = { direction: undefined, connection: { ...a.connection } }
  const noAddress: ReplacementEnd = {
    direction: 'inbound',
    connection: { remoteId: 'x', close() {}, closed: new Promise(() => {}) },
  }
  expect(
    run([
      [a, b, 0],
      [b, unknown, 1],
      [unknown, b, 2],
    ]),
  ).toEqual([false, false, false])
  expect(
    run([
      [a, b, 0],
      [b, noAddress, 1],
      [noAddress, a, 2],
    ]),
  ).toEqual([false, false, false])
})

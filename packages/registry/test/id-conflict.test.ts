// judgeReplacement: which connection replacements mean two live nodes share one id.
import { expect, it } from 'vitest'
import {
  ID_CONFLICT_REPLACEMENTS,
  ID_CONFLICT_WINDOW_MS,
  judgeReplacement,
  type ReplacementEnd,
  replacementAddresses,
} from '../src/id-conflict.js'

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
  let recent: ReturnType<typeof judgeReplacement>['remember']
  return steps.map(([previous, next, at]) => {
    const verdict = judgeReplacement(recent, previous, next, at)
    recent = verdict.remember
    expect((recent ?? []).length).toBeLessThanOrEqual(ID_CONFLICT_REPLACEMENTS)
    return verdict.conflict
  })
}

it('two copies dialing in, replacing each other every second: flagged from the third replacement', () => {
  // the same two addresses (one client endpoint each), or a new port every dial: the rate tells
  const [a, b] = [conn('inbound', 5001), conn('inbound', 5002)]
  expect(
    run([
      [a, b, 0],
      [b, a, 1000],
      [a, b, 2000],
      [b, a, 3000],
    ]),
  ).toEqual([false, false, true, true])
  const ports = [5001, 5002, 5003, 5004, 5005].map((p) => conn('inbound', p))
  expect(run(ports.slice(1).map((next, i) => [ports[i]!, next, i * 1000]))).toEqual([
    false,
    false,
    true,
    true,
  ])
  expect(replacementAddresses(a, conn('inbound', 6000))).toEqual(['127.0.0.1:5001', '127.0.0.1:6000'])
})

it('a peer restarted now and then is not flagged; one restarting in a loop is', () => {
  const [a, b] = [conn('inbound', 5001), conn('inbound', 5002)]
  const gap = ID_CONFLICT_WINDOW_MS / 2 + 1
  expect(
    run([
      [a, b, 0],
      [b, a, gap],
      [a, b, 2 * gap],
      [b, a, 3 * gap],
    ]),
  ).toEqual([false, false, false, false])
  expect(
    run([
      [a, a, 0],
      [a, a, 1000],
      [a, a, 2000],
    ]),
  ).toEqual([false, false, true])
})

it('our dial and the peer dial (listener and client endpoint of one node) alternating are not flagged', () => {
  const listener = conn('outbound', 4000)
  const client = conn('inbound', 5001)
  // a simultaneous dial, then a stall probe, then the peer redialing, then another probe
  const steps: Array<[ReplacementEnd, ReplacementEnd, number]> = [
    [listener, client, 0],
    [client, listener, 1000],
    [listener, client, 2000],
    [client, listener, 3000],
    [listener, client, 4000],
  ]
  expect(run(steps)).toEqual([false, false, false, false, false])
  const unknown: ReplacementEnd = { direction: undefined, connection: client.connection }
  expect(
    run([
      [unknown, client, 0],
      [client, unknown, 1],
      [unknown, client, 2],
    ]),
  ).toEqual([false, false, false])
})

import { describe, expect, it } from 'vitest'
import { checkNoLeaks, runScenario, type Scenario, scenarios, skipReason } from '../src/index.js'
import { describeDiscoveryCompliance } from '../src/vitest.js'
import { type Flaw, memoryHarness } from './memory-backend.js'

// The reference backend passes the whole kit through the vitest adapter.
describeDiscoveryCompliance('memory reference backend', () => memoryHarness(), {
  capabilities: ['announce', 'list', 'watch'],
})

function scenario(prefix: string): Scenario {
  const found = scenarios.find((s) => s.name.startsWith(prefix))
  if (!found) throw new Error(`no scenario starting with ${prefix}`)
  return found
}

// Each deliberately broken backend must fail the scenario that checks the rule it breaks.
const cases: Array<[Flaw, string, RegExp]> = [
  ['events-before-start', 'no events before start', /before start/],
  ['events-after-stop', 'no events before start', /after stop/],
  ['start-not-idempotent', 'start and stop are idempotent', /already started/],
  ['duplicate-discovered', 'repeated announcements', /more than one peer:discovered/],
  ['reports-self', 'a node never reports itself', /reported itself/],
  ['no-lost-on-withdraw', 'withdrawing', /no peer:lost/],
  ['ignores-abort', 'a pre-aborted signal', /resolved, expected a rejection/],
  ['wrong-abort-error', 'a pre-aborted signal', /instead of an AbortError/],
  ['accepts-invalid-announce', 'announcing an invalid record', /resolved, expected a rejection/],
  ['emits-invalid-records', 'malformed input', /invalid record was reported/],
  ['listener-breaks-backend', 'a listener that throws', /listenerErrors|missed the event|stopped working/],
  ['no-async-dispose', '[Symbol.asyncDispose]', /no \[Symbol.asyncDispose\]/],
  ['lookup-misses', 'one instance publishes', /lookup\(id\) did not find/],
]

describe('the kit catches broken backends', () => {
  it.each(cases)('%s fails "%s"', async (flaw, prefix, message) => {
    await expect(runScenario(memoryHarness(flaw), scenario(prefix))).rejects.toThrow(message)
  })

  it('a leaked timer fails the leak check', async () => {
    await expect(checkNoLeaks(memoryHarness('leaks-timer'), 300)).rejects.toThrow(/Timeout/)
  })

  it('a correct backend passes the leak check', async () => {
    await checkNoLeaks(memoryHarness(), 1000)
  })
})

describe('skipReason', () => {
  it('explains missing capabilities and harness methods', () => {
    const harness = memoryHarness()
    const withdraw = scenario('withdrawing')
    expect(skipReason(withdraw, new Set(), { ...harness, seed: undefined, unseed: undefined })).toMatch(
      /announce/,
    )
    expect(skipReason(withdraw, new Set(['announce']), harness)).toBeUndefined()
    expect(skipReason(scenario('malformed'), new Set(), { ...harness, seedInvalid: undefined })).toMatch(
      /seedInvalid/,
    )
  })
})

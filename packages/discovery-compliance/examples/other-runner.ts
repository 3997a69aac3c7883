import {
  checkNoLeaks,
  type DiscoveryHarness,
  runScenario,
  scenarios,
  skipReason,
} from '@peer/discovery-compliance'
import type { DiscoveryCapability } from '@peer/discovery-core'

/** What most runners offer (node:test, mocha's `it`, jest): `test(name, fn)` and `test.skip(name, fn)`. */
export interface TestFunction {
  (name: string, fn: () => Promise<void>): unknown
  skip(name: string, fn: () => void): unknown
}

/**
 * Declares one test per scenario. A scenario the backend cannot run (a capability it does not
 * declare, a harness method it lacks) is declared skipped, with the reason in its name: never run.
 */
export function declareCompliance(
  test: TestFunction,
  makeHarness: () => DiscoveryHarness,
  capabilities: readonly DiscoveryCapability[],
): void {
  const declared = new Set(capabilities)
  for (const scenario of scenarios) {
    const reason = skipReason(scenario, declared, makeHarness())
    if (reason !== undefined) test.skip(`${scenario.name} [skipped: ${reason}]`, () => {})
    else test(scenario.name, () => runScenario(makeHarness(), scenario))
  }
  test('leaves no timers, sockets or handles after stop', () => checkNoLeaks(makeHarness()))
}

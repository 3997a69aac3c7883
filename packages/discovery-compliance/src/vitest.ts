/**
 * The vitest adapter of the compliance kit.
 *
 * @example
 * ```ts
 * import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
 * describeDiscoveryCompliance('my backend', () => myHarness(), {
 *   capabilities: ['announce', 'list', 'watch'],
 * })
 * ```
 *
 * @packageDocumentation
 */
import type { DiscoveryBackend, DiscoveryCapability } from '@peer/discovery-core'
import { MAX_TIMER_MS, numberOption, renamedOption } from '@peer/discovery-core/internal'
import { describe, expect, it } from 'vitest'
import type { DiscoveryHarness } from './harness.js'
import { checkNoLeaks } from './leaks.js'
import { propagationTimeoutOf, runScenario, skipReason } from './run-scenario.js'
import { scenarios } from './scenarios.js'
import { selvesFor } from './selves.js'

export type { DiscoveryHarness, SetupOptions } from './harness.js'

/** Options of {@link describeDiscoveryCompliance}. */
export interface ComplianceOptions {
  /** The capabilities the backend declares; checked against a real instance. */
  capabilities: readonly DiscoveryCapability[]
  /**
   * Per-test timeout in ms: a number > 0 and at most 2^31 - 1 (a `ConfigError` otherwise).
   * Default: 4 x the harness's `propagationTimeoutMs` + 10 s (more for a scenario that waits more
   * often, such as the churn scenario: its `propagations` x `propagationTimeoutMs` + 10 s).
   */
  testTimeoutMs?: number
  /**
   * Same as `testTimeoutMs` (ms); using it emits a one-time `DeprecationWarning`.
   * @deprecated Use `testTimeoutMs` (same unit, ms); accepted until the next minor version.
   */
  testTimeout?: number
  /**
   * Skip the resource-leak checks (the one after every scenario and the separate leak test), e.g.
   * for a backend that lives in another process. Say why.
   */
  skipLeakCheck?: string
}

/**
 * Declares one vitest test per compliance scenario. `makeHarness` is called once per test (and
 * once up front to see which optional harness methods exist), so it must be cheap and must not
 * start anything: `setup` does that. Scenarios the backend cannot run are declared as skipped,
 * with the reason in the test name. Throws a `ConfigError` (before declaring anything) for a bad
 * `testTimeoutMs` or a bad `propagationTimeoutMs` on the harness.
 */
export function describeDiscoveryCompliance<B extends DiscoveryBackend>(
  title: string,
  makeHarness: () => DiscoveryHarness<B>,
  options: ComplianceOptions,
): void {
  const probe = makeHarness()
  const caps = new Set(options.capabilities)
  const propagationTimeout = propagationTimeoutOf(probe)
  const given = renamedOption(options, {
    current: 'testTimeoutMs',
    deprecated: 'testTimeout',
    owner: 'describeDiscoveryCompliance',
  })
  const timeoutFor = (propagations = 4) =>
    numberOption(given, 'testTimeoutMs', Math.min(MAX_TIMER_MS, propagations * propagationTimeout + 10_000), {
      min: 0,
      exclusiveMin: true,
    })
  const timeout = timeoutFor()
  describe(`discovery compliance: ${title}`, () => {
    it(
      'declares the capabilities it was described with',
      async () => {
        const harness = makeHarness()
        const [instance] = await harness.setup({ count: 1, selves: selvesFor('capabilities', 1) })
        try {
          expect([...instance!.capabilities].sort()).toEqual([...caps].sort())
          if (caps.has('announce')) {
            expect(typeof instance!.announce).toBe('function')
            expect(typeof instance!.withdraw).toBe('function')
          }
          if (caps.has('list')) expect(typeof instance!.list).toBe('function')
        } finally {
          await instance?.stop()
          await harness.teardown()
        }
      },
      timeout,
    )
    for (const scenario of scenarios) {
      const reason = skipReason(scenario, caps, probe)
      if (reason !== undefined) {
        it.skip(`${scenario.name} [skipped: ${reason}]`, () => {})
        continue
      }
      const leakCheck = options.skipLeakCheck === undefined
      it(
        scenario.name,
        () => runScenario(makeHarness(), scenario, { leakCheck }),
        timeoutFor(scenario.propagations),
      )
    }
    const leakTitle = 'leaves no timers, sockets or handles after stop'
    if (options.skipLeakCheck !== undefined)
      it.skip(`${leakTitle} [skipped: ${options.skipLeakCheck}]`, () => {})
    else it(leakTitle, () => checkNoLeaks(makeHarness()), timeout)
  })
}

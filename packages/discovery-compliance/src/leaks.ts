import type { DiscoveryBackend } from '@peer/discovery-core'
import { eventually, recorder } from './checks.js'
import type { DiscoveryHarness } from './harness.js'
import { expectNoLeaks, resourceSnapshot } from './resources.js'
import { runScenario } from './run-scenario.js'
import type { Scenario } from './scenario.js'

const cycle: Scenario = {
  name: 'leak cycle',
  instances: 2,
  needs: {},
  async run({ instances, selves, publish, unpublish, timeout, harness }) {
    const canPublish = instances[0]!.capabilities.has('announce') || typeof harness.seed === 'function'
    const canUnpublish = instances[0]!.capabilities.has('announce') || typeof harness.unseed === 'function'
    if (!canPublish) return
    const rec = recorder(instances[1]!)
    await publish(0)
    await eventually(() => rec.count('peer:discovered', selves[0]!.id) > 0, timeout, 'no peer:discovered')
    if (canUnpublish) await unpublish(0)
    rec.stop()
  },
}

/**
 * Runs a full cycle (setup, start, publish, discover, withdraw, stop, teardown) and checks that
 * the process holds no more timers, sockets or handles than before, allowing `settleMs` for
 * them to close. Throws with the extra resource types when something was left behind.
 */
export async function checkNoLeaks<B extends DiscoveryBackend>(
  harness: DiscoveryHarness<B>,
  settleMs = 3000,
): Promise<void> {
  const before = await resourceSnapshot()
  await runScenario(harness, cycle, { leakCheck: false })
  await expectNoLeaks(before, harness.ignoreResources, settleMs)
}

import type { DiscoveryBackend } from '@peer/discovery-core'
import { eventually, recorder, sleep } from './checks.js'
import type { DiscoveryHarness } from './harness.js'
import { runScenario } from './run-scenario.js'
import type { Scenario } from './scenario.js'

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

function extra(before: Map<string, number>, ignore: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (const [type, n] of resourceCounts()) {
    const grown = n - (before.get(type) ?? 0)
    if (grown > 0 && !ignore.has(type)) out.push(`${grown} x ${type}`)
  }
  return out
}

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
  await sleep(50)
  const before = resourceCounts()
  await runScenario(harness, cycle)
  const ignore = new Set(harness.ignoreResources ?? [])
  let left: string[] = []
  try {
    await eventually(
      () => {
        left = extra(before, ignore)
        return left.length === 0
      },
      settleMs,
      'resources left after stop',
    )
  } catch {
    throw new Error(`resources left after stop() and teardown(): ${left.join(', ')}`)
  }
}

import type { DiscoveryBackend, DiscoveryCapability, LocalPeer } from '@peer/discovery-core'
import { backendShapeProblems, numberOption, renamedOption } from '@peer/discovery-core/internal'
import type { DiscoveryHarness } from './harness.js'
import { expectNoLeaks, resourceSnapshot } from './resources.js'
import type { Scenario, ScenarioContext } from './scenario.js'
import { selvesFor } from './selves.js'

/**
 * Why `scenario` cannot run against this backend and harness, or `undefined` when it can.
 * `capabilities` is what the backend declares.
 */
export function skipReason(
  scenario: Scenario,
  capabilities: ReadonlySet<DiscoveryCapability>,
  harness: DiscoveryHarness,
): string | undefined {
  const { needs } = scenario
  for (const cap of needs.capabilities ?? []) {
    if (!capabilities.has(cap)) return `backend lacks capability '${cap}'`
  }
  const canAnnounce = capabilities.has('announce')
  if (needs.publish && !canAnnounce && typeof harness.seed !== 'function') {
    return "backend lacks 'announce' and harness has no seed()"
  }
  if (needs.unpublish && !canAnnounce && typeof harness.unseed !== 'function') {
    return "backend lacks 'announce' and harness has no unseed()"
  }
  if (needs.invalidInput && typeof harness.seedInvalid !== 'function') return 'harness has no seedInvalid()'
  if (needs.expiringInput && typeof harness.seedExpiring !== 'function')
    return 'harness has no seedExpiring()'
  return undefined
}

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /**
   * Fail the scenario when, after `stop()` and `teardown()`, the process holds more timers,
   * sockets or handles than before `setup()` (so a leak fails the scenario that caused it, not a
   * later one). Default true.
   */
  leakCheck?: boolean
  /** How long resources may take to close after teardown before they count as leaked. Default 3000 ms. */
  settleMs?: number
}

/**
 * The harness's `propagationTimeoutMs` (or its deprecated name `propagationTimeout`, with a one-time
 * DeprecationWarning), default 5000. Throws a `ConfigError` unless it is a number > 0 and at most
 * `MAX_TIMER_MS`. @internal
 */
export function propagationTimeoutOf(harness: DiscoveryHarness<DiscoveryBackend>): number {
  const given = renamedOption(harness, {
    current: 'propagationTimeoutMs',
    deprecated: 'propagationTimeout',
    owner: 'DiscoveryHarness',
  })
  return numberOption(given, 'propagationTimeoutMs', 5000, { min: 0, exclusiveMin: true })
}

/**
 * Runs one scenario: `setup`, start (unless the scenario starts instances itself), the body, then
 * stop every instance and `teardown`, even when the body fails. Throws the body's failure, then a
 * failed `stop()`, then resources left behind (see {@link RunScenarioOptions.leakCheck}).
 * A bad `propagationTimeoutMs` on the harness is a `ConfigError`, thrown before `setup`.
 */
export async function runScenario<B extends DiscoveryBackend>(
  harness: DiscoveryHarness<B>,
  scenario: Scenario,
  options: RunScenarioOptions = {},
): Promise<void> {
  const leakCheck = options.leakCheck ?? true
  const before = leakCheck ? await resourceSnapshot() : undefined
  const timeout = propagationTimeoutOf(harness)
  const selves: LocalPeer[] = selvesFor(scenario.name, scenario.instances)
  const instances = await harness.setup({ count: scenario.instances, selves })
  if (instances.length !== scenario.instances) {
    await harness.teardown()
    throw new Error(`harness.setup({ count: ${scenario.instances} }) returned ${instances.length} instances`)
  }
  // a backend written by hand that lacks a member fails here, named, not as a TypeError mid-scenario
  const misshapen = instances
    .map((b, i) => ({ i, problems: backendShapeProblems(b) }))
    .find((x) => x.problems.length > 0)
  if (misshapen !== undefined) {
    await harness.teardown()
    throw new Error(
      `harness.setup() returned an instance that is not a DiscoveryBackend (instance ${misshapen.i}: ${misshapen.problems.join(', ')})`,
    )
  }
  const first = instances[0]!
  const canAnnounce = first.capabilities.has('announce') && typeof first.announce === 'function'
  const ctx: ScenarioContext<B> = {
    harness,
    instances,
    selves,
    timeout,
    quiet: Math.min(1000, Math.max(200, Math.round(timeout / 5))),
    async publish(i, peer = selves[i]!) {
      if (canAnnounce) await instances[i]!.announce!(peer)
      else await harness.seed!(peer)
    },
    async unpublish(i, peer = selves[i]!) {
      if (canAnnounce) await instances[i]!.withdraw!()
      else await harness.unseed!(peer.id)
    },
  }
  let failure: { error: unknown } | undefined
  try {
    if (scenario.autoStart !== false) await Promise.all(instances.map((b) => b.start()))
    await scenario.run(ctx as unknown as ScenarioContext)
  } catch (error) {
    failure = { error }
  }
  const stops = await Promise.allSettled(instances.map((b) => b.stop()))
  await harness.teardown()
  if (failure) throw failure.error
  const failed = stops.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) throw new Error('stop() rejected during cleanup', { cause: failed.reason })
  if (before !== undefined) await expectNoLeaks(before, harness.ignoreResources, options.settleMs ?? 3000)
}

import type { DiscoveryBackend, DiscoveryCapability, LocalPeer } from '@peer/discovery-core'
import type { DiscoveryHarness } from './harness.js'

/** What a scenario needs beyond the backend's capabilities. */
export interface ScenarioNeeds {
  /** Capabilities the backend must declare. */
  capabilities?: readonly DiscoveryCapability[]
  /** A way to make a node visible: `announce` capability or `harness.seed`. */
  publish?: boolean
  /** A way to make a node disappear: `announce` (withdraw) or `harness.unseed`. */
  unpublish?: boolean
  /** `harness.seedInvalid`. */
  invalidInput?: boolean
  /** `harness.seedExpiring`. */
  expiringInput?: boolean
}

/** Everything a scenario body gets. */
export interface ScenarioContext<B extends DiscoveryBackend = DiscoveryBackend> {
  readonly harness: DiscoveryHarness<B>
  readonly instances: readonly B[]
  readonly selves: readonly LocalPeer[]
  /** Propagation timeout in ms. */
  readonly timeout: number
  /** A short quiet period (ms) used to check that something does NOT happen. */
  readonly quiet: number
  /** Makes node `i` visible: `instances[i].announce(selves[i])` or `harness.seed(selves[i])`. */
  publish(i: number): Promise<void>
  /** Makes node `i` disappear: `instances[i].withdraw()` or `harness.unseed(selves[i].id)`. */
  unpublish(i: number): Promise<void>
}

/** One rule of the behaviour, checked against a harness. Runner-agnostic: throws on failure. */
export interface Scenario {
  /** Stable name, used as the test title. */
  readonly name: string
  /** How many backend instances it sets up. */
  readonly instances: number
  readonly needs: ScenarioNeeds
  /** Whether the kit starts every instance before `run` (default true). */
  readonly autoStart?: boolean
  run(ctx: ScenarioContext): Promise<void>
}

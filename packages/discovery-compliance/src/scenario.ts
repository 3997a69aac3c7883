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
  /** The harness under test. */
  readonly harness: DiscoveryHarness<B>
  /**
   * The instances `harness.setup` created, already started unless the scenario sets `autoStart`
   * to false; the kit stops them after the body.
   */
  readonly instances: readonly B[]
  /** The nodes the instances belong to (see `selvesFor`): instance `i` is `selves[i]`. */
  readonly selves: readonly LocalPeer[]
  /** Propagation timeout in ms. */
  readonly timeout: number
  /** A short quiet period (ms) used to check that something does NOT happen. */
  readonly quiet: number
  /**
   * Makes node `i` visible: `instances[i].announce(peer)` or `harness.seed(peer)`, where `peer` is
   * `selves[i]` unless given (a scenario may publish other identities from instance `i`).
   */
  publish(i: number, peer?: LocalPeer): Promise<void>
  /**
   * Makes node `i` disappear: `instances[i].withdraw()` or `harness.unseed(peer.id)`, where `peer`
   * is `selves[i]` unless given.
   */
  unpublish(i: number, peer?: LocalPeer): Promise<void>
}

/** One rule of the behaviour, checked against a harness. Runner-agnostic: throws on failure. */
export interface Scenario {
  /** Stable name, used as the test title. */
  readonly name: string
  /** How many backend instances it sets up. */
  readonly instances: number
  /** What the scenario needs of the backend and harness; without it, it is skipped (`skipReason`). */
  readonly needs: ScenarioNeeds
  /**
   * How many propagation waits (`timeout`) the body may make one after another; the vitest
   * adapter's default per-test timeout allows this many (default 4).
   */
  readonly propagations?: number
  /** Whether the kit starts every instance before `run` (default true). */
  readonly autoStart?: boolean
  /**
   * The body: checks the rule against `ctx` and throws on failure. `runScenario` calls it after
   * setup (and start, unless `autoStart` is false), then stops the instances and tears down, even
   * when it throws.
   */
  run(ctx: ScenarioContext): Promise<void>
}

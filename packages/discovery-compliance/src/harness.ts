import type { DiscoveryBackend, LocalPeer } from '@peer/discovery-core'

/** What {@link DiscoveryHarness.setup} receives. */
export interface SetupOptions {
  /** How many backend instances to create. */
  count: number
  /**
   * The node each instance belongs to: instance `i` is `selves[i]`. Backends that take their own
   * id as an option (`self`) should be given `selves[i].id`; the kit announces `selves[i]` on
   * backends with the `announce` capability.
   */
  selves: readonly LocalPeer[]
}

/**
 * How the compliance kit drives a backend: the backend author writes one of these in their own
 * test suite (see the package README).
 */
export interface DiscoveryHarness<B extends DiscoveryBackend = DiscoveryBackend> {
  /**
   * Creates `count` fresh, NOT started instances that share one medium (one DNS zone, one etcd
   * prefix, one multicast network, one JSON file), so that what one instance announces (or what is
   * seeded) the others discover.
   */
  setup(options: SetupOptions): Promise<B[]>
  /**
   * Makes `peer` visible to every instance through the medium, for backends without `announce`
   * (e.g. write it into the shared file or zone). Scenarios that need a peer to appear are skipped
   * when the backend can neither announce nor be seeded.
   */
  seed?(peer: LocalPeer): Promise<void>
  /** Removes a seeded peer from the medium, so instances report `peer:lost`. */
  unseed?(id: string): Promise<void>
  /**
   * Writes `peer` into the medium with a short lifetime (a TTL, lease or cache lifetime of about a
   * second) so that it expires by itself, without anyone removing it, well within
   * `propagationTimeoutMs`. Backends that declare `expiry` need it for the expiry scenario (which is
   * skipped, with the reason in its name, when it is missing).
   */
  seedExpiring?(peer: LocalPeer): Promise<void>
  /**
   * Writes malformed data into the medium (a corrupt packet, value, file entry). Instances must
   * drop and count it (`stats.invalidRecords`) and never emit it or crash.
   */
  seedInvalid?(): Promise<void>
  /** Releases everything `setup` created (instances are already stopped by the kit). */
  teardown(): Promise<void>
  /**
   * Longest time (ms) a change may take to reach the instances: a number > 0 and at most 2^31 - 1
   * (`runScenario` and `describeDiscoveryCompliance` throw a `ConfigError` otherwise). Default 5000.
   */
  propagationTimeoutMs?: number
  /**
   * Same as `propagationTimeoutMs` (ms); using it emits a one-time `DeprecationWarning`.
   * @deprecated Use `propagationTimeoutMs` (same unit, ms); accepted until the next minor version.
   */
  propagationTimeout?: number
  /**
   * Names of active-resource types (`process.getActiveResourcesInfo()`) that the harness itself
   * keeps open between setup and teardown and the leak check should ignore.
   */
  ignoreResources?: readonly string[]
}

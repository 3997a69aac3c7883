/**
 * The compliance kit for peer discovery backends: runner-agnostic scenarios that check a backend
 * against the behaviour defined in `@peer/discovery-core`, plus a vitest adapter in
 * `@peer/discovery-compliance/vitest`.
 *
 * Write a {@link DiscoveryHarness} for your backend, then either call
 * `describeDiscoveryCompliance` (vitest) or loop over {@link scenarios} with
 * {@link runScenario} / {@link skipReason} and {@link checkNoLeaks} in any other runner.
 *
 * @packageDocumentation
 */
export type { DiscoveryHarness, SetupOptions } from './harness.js'
export { checkNoLeaks } from './leaks.js'
export { type RunScenarioOptions, runScenario, skipReason } from './run-scenario.js'
export type { Scenario, ScenarioContext, ScenarioNeeds } from './scenario.js'
export { scenarios } from './scenarios.js'
export { selvesFor } from './selves.js'

import { addressingScenarios } from './addressing.js'
import { channelScenarios } from './channel.js'
import { crashScenarios } from './crash.js'
import { handleScenarios } from './handles.js'
import { handshakeScenarios } from './handshake.js'
import type { Kit } from './kit.js'
import { lifecycleScenarios } from './lifecycle.js'
import { lossScenarios } from './loss.js'
import { migrationScenarios } from './migration.js'
import { statsScenarios } from './stats.js'
import { streamScenarios } from './streams.js'

/** Every conformance scenario, in the order they run. */
export const SCENARIOS: Array<(kit: Kit) => void> = [
  handshakeScenarios,
  addressingScenarios,
  streamScenarios,
  channelScenarios,
  lifecycleScenarios,
  crashScenarios,
  migrationScenarios,
  lossScenarios,
  handleScenarios,
  statsScenarios,
]

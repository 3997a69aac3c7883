// The transport conformance kit: one set of scenarios, run for every engine pair (client engine
// dials, server engine listens). A scenario that needs a capability an engine declares it lacks
// is skipped with the reason in its title, as the discovery compliance kit does.
import { describe, it } from 'vitest'
import { type EngineCapabilities, type EngineName, engineCapabilities } from '../../src/index.js'
import { loadQuinnBinding } from '../../src/quinn-binding.js'
import { Pool } from '../fixtures/pool.js'

export interface EnginePair {
  server: EngineName
  client: EngineName
}

/** What a scenario gets: the pair, a pool that makes transports on the pair's engines, capabilities. */
export interface Kit {
  pair: EnginePair
  pool: Pool
  server: EngineCapabilities
  client: EngineCapabilities
  /** `it`, or a skip titled with `reason` when `reason` is set (a capability the pair lacks). */
  itIf(reason: string | undefined): typeof it
  /** The reason when `side`'s engine lacks `capability`, else undefined. */
  lacks(side: 'server' | 'client' | 'both', capability: keyof EngineCapabilities): string | undefined
  /**
   * Bytes for the bulk-transfer scenarios: 64 MiB between quinn engines, 16 MiB when matrixai is on
   * either side (its bulk rate is a fraction of quinn's: 64 MiB took 30-60 s of a CI run at load 20;
   * the scenario checks integrity and flow control, which 16 MiB, four times or more the 2-4 MiB stream window, still does).
   */
  bulkBytes: number
}

export const pairName = (p: EnginePair): string => `${p.client} -> ${p.server}`

/** Why the quinn engine cannot run here (its binary does not load), or undefined. */
export function quinnUnavailable(): string | undefined {
  const loaded = loadQuinnBinding()
  return 'reason' in loaded ? loaded.reason : undefined
}

/** Registers every scenario for one engine pair. */
export function describeConformance(pair: EnginePair, scenarios: Array<(kit: Kit) => void>): void {
  const title = `transport conformance: ${pairName(pair)}`
  const missing = pair.server === 'quinn' || pair.client === 'quinn' ? quinnUnavailable() : undefined
  if (missing !== undefined) {
    describe(title, () => {
      it.skip(`every scenario [skipped: the quinn engine does not load here: ${missing}]`, () => {})
    })
    return
  }
  describe(title, () => {
    const pool = Pool.forFile(pair)
    const server = engineCapabilities[pair.server]
    const client = engineCapabilities[pair.client]
    const lacks: Kit['lacks'] = (side, capability) => {
      const names =
        side === 'both' ? [pair.server, pair.client] : [side === 'server' ? pair.server : pair.client]
      for (const name of new Set(names)) {
        const value = engineCapabilities[name][capability]
        if (value === false) return `engine ${name} lacks capability '${capability}'`
      }
      return undefined
    }
    const itIf = (reason: string | undefined): typeof it => {
      if (reason === undefined) return it
      const skip = ((name: string) =>
        it.skip(`${name} [skipped: ${reason}]`, () => {})) as unknown as typeof it
      return skip
    }
    const bulkBytes = pair.server === 'quinn' && pair.client === 'quinn' ? 64 * 1024 * 1024 : 16 * 1024 * 1024
    const kit: Kit = { pair, pool, server, client, itIf, lacks, bulkBytes }
    for (const scenario of scenarios) scenario(kit)
  })
}

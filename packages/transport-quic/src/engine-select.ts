// Which engine a transport runs: `options.engine`, else `PEER_QUIC_ENGINE`, else the default;
// quinn only where its binary loads and for Ed25519 identities, else matrixai (with an info log).
import type { Logger } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import type { Engine, EngineName } from './engine.js'
import { matrixaiEngine } from './engine-matrixai.js'
import { createQuinnEngine } from './engine-quinn.js'
import { TransportConfigError } from './errors.js'
import { loadQuinnBinding } from './quinn-binding.js'

/** The engine used when neither `engine` nor `PEER_QUIC_ENGINE` says otherwise. */
export const DEFAULT_ENGINE: EngineName = 'quinn'

/** The engine names, for validation. */
export const ENGINE_NAMES: readonly EngineName[] = ['quinn', 'matrixai']

/** The chosen engine and, when it is not the one asked for, why. */
export interface EngineChoice {
  engine: Engine
  requested: EngineName
  fallbackReason?: string
}

/** Picks (and for quinn, loads) the engine of a transport. */
export function selectEngine(
  requested: EngineName | undefined,
  identity: Identity,
  logger: Logger,
): EngineChoice {
  const fromEnv = process.env.PEER_QUIC_ENGINE
  const name = requested ?? (fromEnv === undefined || fromEnv === '' ? DEFAULT_ENGINE : fromEnv)
  if (!ENGINE_NAMES.includes(name as EngineName)) {
    throw new TransportConfigError(
      `unknown QUIC engine ${JSON.stringify(name)}${requested === undefined ? ' (PEER_QUIC_ENGINE)' : ''}; use one of ${ENGINE_NAMES.join(', ')}`,
      { option: 'engine' },
    )
  }
  if (name === 'matrixai') return { engine: matrixaiEngine, requested: 'matrixai' }
  let reason: string
  if (identity.keyType !== 'ed25519') {
    reason = `the quinn engine cannot present a ${identity.keyType} identity (Ed25519 only)`
  } else {
    const loaded = loadQuinnBinding()
    if ('binding' in loaded) return { engine: createQuinnEngine(loaded.binding), requested: 'quinn' }
    reason = loaded.reason
  }
  logger.info('QUIC engine quinn unavailable; using matrixai', { reason })
  return { engine: matrixaiEngine, requested: 'quinn', fallbackReason: reason }
}

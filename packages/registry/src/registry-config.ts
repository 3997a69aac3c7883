// PeerRegistry's options, checked and with their defaults applied.

import { assertNodeId } from '@peer/discovery-core'
import { type NumberRule, numberOption, renamedOption } from '@peer/discovery-core/internal'
import { type BackoffOptions, backoffDelays } from './backoff.js'
import { RegistryConfigError } from './errors.js'
import type { PeerSource, RegistryConnection, RegistryTransport, TrustStore } from './interfaces.js'
import type { PeerRegistryOptions } from './peer-registry-options.js'

/** The checked options of a PeerRegistry. @internal */
export interface RegistryConfig<C extends RegistryConnection> {
  readonly transport: RegistryTransport<C>
  readonly trust: TrustStore | ((id: string) => boolean)
  readonly discovery: PeerSource | undefined
  readonly maxPeers: number
  readonly maxDials: number
  readonly dialTimeout: number
  readonly backoff: BackoffOptions
  readonly stableAfter: number
  readonly window: number
  readonly maxAddresses: number
  readonly departedHold: number
  readonly probeAttempt: number
  readonly stopTimeout: number
  readonly onDemand: boolean
  readonly maxConnections: number
  readonly evictIdle: (() => string | undefined) | undefined
}

/** Checks `options` (throwing on an invalid one) and applies the defaults. @internal */
export function resolveRegistryConfig<C extends RegistryConnection>(
  options: PeerRegistryOptions<C>,
): RegistryConfig<C> {
  assertNodeId(options.self)
  if (typeof options.transport?.dial !== 'function') {
    throw new RegistryConfigError('transport must have a dial method', { option: 'transport' })
  }
  const transport = options.transport
  if (typeof options.trust !== 'function' && typeof options.trust?.has !== 'function') {
    throw new RegistryConfigError('trust must be a trust list (with has(id)) or a predicate', {
      option: 'trust',
    })
  }
  const trust = options.trust
  const discovery = options.discovery
  const positive = { min: 1, integer: true }
  const maxPeers = checked(options.maxPeers, 'maxPeers', 1024, positive)
  const maxDials = checked(options.maxConcurrentDials, 'maxConcurrentDials', 8, positive)
  const dialTimeout = checked(
    renamed(options, 'dialTimeoutMs', 'dialTimeout'),
    'dialTimeoutMs',
    10_000,
    positive,
  )
  const backoff = resolveBackoff(options.backoff)
  const stableAfter = checked(renamed(options, 'stableAfterMs', 'stableAfter'), 'stableAfterMs', 10_000, {
    min: 0,
  })
  const window = checked(
    renamed(options, 'simultaneousWindowMs', 'simultaneousWindow'),
    'simultaneousWindowMs',
    2000,
    { min: 0 },
  )
  const maxAddresses = checked(options.maxAddressesPerPeer, 'maxAddressesPerPeer', 16, positive)
  const departedHold = checked(options.departedHoldMs, 'departedHoldMs', 15_000, positive)
  const stopTimeout = checked(options.stopTimeoutMs, 'stopTimeoutMs', 2000, positive)
  const probeAttempt = checked(options.probeAttemptMs, 'probeAttemptMs', 1000, { min: 0, integer: true })
  const connect = options.connect ?? 'mesh'
  if (connect !== 'mesh' && connect !== 'on-demand') {
    throw new RegistryConfigError(`connect must be 'mesh' or 'on-demand', got ${String(connect)}`, {
      option: 'connect',
    })
  }
  const onDemand = connect === 'on-demand'
  const cap = options.maxConnections ?? Infinity
  if (cap !== Infinity && !(Number.isInteger(cap) && cap >= 1)) {
    throw new RegistryConfigError(`maxConnections must be a positive integer, got ${cap}`, {
      option: 'maxConnections',
    })
  }
  if (options.evictIdle !== undefined && typeof options.evictIdle !== 'function') {
    throw new RegistryConfigError('evictIdle must be a function', { option: 'evictIdle' })
  }
  return {
    transport,
    trust,
    discovery,
    maxPeers,
    maxDials,
    dialTimeout,
    backoff,
    stableAfter,
    window,
    maxAddresses,
    departedHold,
    probeAttempt,
    stopTimeout,
    onDemand,
    maxConnections: cap,
    evictIdle: options.evictIdle,
  }
}

/** `backoff` with its deprecated names resolved and its delays checked (non-negative numbers). */
function resolveBackoff(backoff: BackoffOptions | undefined): BackoffOptions {
  if (backoff === undefined) return {}
  if (typeof backoff !== 'object' || backoff === null) {
    throw new RegistryConfigError('backoff must be an object', { option: 'backoff' })
  }
  let delays: ReturnType<typeof backoffDelays>
  try {
    delays = backoffDelays(backoff, 'PeerRegistry backoff')
  } catch (error) {
    // both an old and a new name: name the option by its path
    const option = `backoff.${(error as RegistryConfigError).option}`
    throw new RegistryConfigError((error as Error).message, { option, cause: error })
  }
  const { jitter, random } = backoff
  return {
    initialDelayMs: checked(delays.initialDelayMs, 'backoff.initialDelayMs', 500, { min: 0 }),
    maxDelayMs: checked(delays.maxDelayMs, 'backoff.maxDelayMs', 30_000, { min: 0 }),
    ...(jitter === undefined ? {} : { jitter }),
    ...(random === undefined ? {} : { random }),
  }
}

function renamed(options: object, current: string, deprecated: string): unknown {
  return renamedOption(options, { current, deprecated, owner: 'PeerRegistry', error: RegistryConfigError })
}

function checked(value: unknown, option: string, fallback: number, rule: NumberRule): number {
  return numberOption(value, option, fallback, rule, RegistryConfigError)
}

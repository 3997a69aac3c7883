// PeerRegistry's options, checked and with their defaults applied.

import { assertNodeId, ConfigError } from '@peer/discovery-core'
import type { BackoffOptions } from './backoff.js'
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
  if (typeof options.transport?.dial !== 'function') throw new TypeError('transport must have a dial method')
  const transport = options.transport
  if (typeof options.trust !== 'function' && typeof options.trust?.has !== 'function') {
    throw new TypeError('trust must be a trust list (with has(id)) or a predicate')
  }
  const trust = options.trust
  const discovery = options.discovery
  const maxPeers = positiveInt('maxPeers', options.maxPeers ?? 1024)
  const maxDials = positiveInt('maxConcurrentDials', options.maxConcurrentDials ?? 8)
  const dialTimeout = positiveInt('dialTimeout', options.dialTimeout ?? 10_000)
  const backoff = options.backoff ?? {}
  const stableAfter = options.stableAfter ?? 10_000
  const window = options.simultaneousWindow ?? 2000
  const maxAddresses = positiveInt('maxAddressesPerPeer', options.maxAddressesPerPeer ?? 16)
  const departedHold = positiveInt('departedHoldMs', options.departedHoldMs ?? 15_000)
  const stopTimeout = positiveInt('stopTimeoutMs', options.stopTimeoutMs ?? 2000)
  const probeAttempt = options.probeAttemptMs ?? 1000
  if (!Number.isInteger(probeAttempt) || probeAttempt < 0) {
    throw new RangeError(`probeAttemptMs must be a non-negative integer, got ${options.probeAttemptMs}`)
  }
  const connect = options.connect ?? 'mesh'
  if (connect !== 'mesh' && connect !== 'on-demand') {
    throw new ConfigError(`connect must be 'mesh' or 'on-demand', got ${String(connect)}`, {
      option: 'connect',
    })
  }
  const onDemand = connect === 'on-demand'
  const cap = options.maxConnections ?? Infinity
  if (cap !== Infinity && !(Number.isInteger(cap) && cap >= 1)) {
    throw new ConfigError(`maxConnections must be a positive integer, got ${cap}`, {
      option: 'maxConnections',
    })
  }
  if (options.evictIdle !== undefined && typeof options.evictIdle !== 'function') {
    throw new ConfigError('evictIdle must be a function', { option: 'evictIdle' })
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

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

// PeerNode's options: the defaults of its limits, the renamed ones, and their checks.

import { ConfigError } from '@peer/discovery-core'
import { MAX_TIMER_MS, numberOption, renamedOption } from '@peer/discovery-core/internal'
import { DEFAULT_TUNING } from '@peer/transport-quic'
import { MIN_MESSAGE_SIZE } from './envelope.js'
import type { NodeOptions } from './types.js'

/** The defaults of the node's numeric limits. @internal */
export const DEFAULTS = {
  requestTimeout: 10_000,
  maxInFlightRequests: 1024,
  maxConcurrentHandlers: 256,
  maxQueuedMessages: 10_000,
  maxMessageSize: 1024 * 1024,
  stopTimeout: 5000,
  helloTimeout: 10_000,
  maxProtocolErrors: 32,
  maxByteStreams: 64,
  maxStreamOpensPerSecond: 100,
  partialFrameTimeoutMs: 30_000,
  stallTimeoutMs: 2000,
  probeTimeoutMs: 2000,
  maxBulkBytesInFlight: 1024 * 1024,
  maxLaneBytesPerTurn: 64 * 1024,
}

/**
 * Options renamed to the `Ms` convention: internal key -> public name. The old names still work
 * for one minor version, with a one-time DeprecationWarning.
 */
const RENAMED: Partial<Record<keyof typeof DEFAULTS, string>> = {
  requestTimeout: 'requestTimeoutMs',
  stopTimeout: 'stopTimeoutMs',
  helloTimeout: 'helloTimeoutMs',
}

/** The node's numeric limits. @internal */
export type NodeLimits = typeof DEFAULTS

/** Longest timeout a timer can hold (about 24.8 days). */
export const MAX_TIMEOUT = MAX_TIMER_MS

export function checkTimeout(timeout: number): void {
  if (!(timeout > 0 && timeout <= MAX_TIMEOUT)) {
    throw new ConfigError(`timeoutMs must be a number of ms in (0, ${MAX_TIMEOUT}], got ${timeout}`, {
      option: 'timeoutMs',
    })
  }
}

/**
 * The time limit of one call: `options.timeoutMs` (or its deprecated name `timeout`, with a
 * one-time DeprecationWarning), else `fallback`; checked (`ConfigError`, option `timeoutMs`).
 * @internal
 */
export function callTimeout(
  options: { timeoutMs?: number | undefined; timeout?: number | undefined },
  fallback: number,
  owner: string,
): number {
  const given = renamedOption(options, { current: 'timeoutMs', deprecated: 'timeout', owner })
  const timeout = given === undefined ? fallback : (given as number)
  checkTimeout(timeout)
  return timeout
}

/** The node's options that are numbers or choices, checked, with their defaults applied. @internal */
export interface NodeSettings {
  readonly limits: NodeLimits
  readonly onDemand: boolean
  readonly maxConnections: number
  readonly idleCloseMs: number
}

/**
 * Checks the node's limits, `connect`, `maxConnections` and `idleCloseMs` (throwing `ConfigError`). @internal
 */
export function resolveNodeSettings(options: NodeOptions): NodeSettings {
  const limits = { ...DEFAULTS }
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const renamed = RENAMED[key]
    const name = renamed ?? key
    const value =
      renamed === undefined
        ? options[key]
        : renamedOption(options, { current: renamed, deprecated: key, owner: 'createNode' })
    limits[key] = numberOption(value, name, DEFAULTS[key], { min: 1, max: MAX_TIMEOUT, integer: true })
  }
  if (limits.maxMessageSize < MIN_MESSAGE_SIZE) {
    throw new ConfigError(
      `maxMessageSize must be at least ${MIN_MESSAGE_SIZE}, got ${limits.maxMessageSize}`,
      { option: 'maxMessageSize' },
    )
  }
  const connect = options.connect ?? 'mesh'
  if (connect !== 'mesh' && connect !== 'on-demand') {
    throw new ConfigError(`connect must be 'mesh' or 'on-demand', got ${String(connect)}`, {
      option: 'connect',
    })
  }
  const onDemand = connect === 'on-demand'
  const maxConnections =
    options.maxConnections === undefined || options.maxConnections === Infinity
      ? Infinity
      : numberOption(options.maxConnections, 'maxConnections', 0, { min: 1, integer: true })
  const idleCloseMs = numberOption(options.idleCloseMs, 'idleCloseMs', 60_000, {
    min: 1,
    max: MAX_TIMEOUT,
    integer: true,
  })
  return { limits, onDemand, maxConnections, idleCloseMs }
}

/** The discovery aggregate's `lostHysteresisMs`, from the node option or its deprecated name. */
export function lostHysteresisOption(options: NodeOptions): { lostHysteresisMs?: number } {
  const value = renamedOption(options, {
    current: 'lostHysteresisMs',
    deprecated: 'lostHysteresis',
    owner: 'createNode',
  })
  return value === undefined ? {} : { lostHysteresisMs: value as number }
}

/** The transport's own default dial deadline (its `connectTimeoutMs`), the longest of its path kinds. */
const TRANSPORT_CONNECT_TIMEOUT = Math.max(...Object.values(DEFAULT_TUNING).map((t) => t.connectTimeoutMs))

/**
 * The transport's `connectTimeoutMs` when the user did not set it: the registry's `dialTimeoutMs`
 * when that is the longer one (else every dial would end at the transport's 10 s, whatever the
 * registry allows it), `{}` otherwise. Both set, the transport's the shorter: `warn` says so
 * (the user asked for it, maybe without knowing). An invalid `dialTimeoutMs` is left to the
 * registry's check. @internal
 */
export function connectTimeoutOption(
  options: NodeOptions,
  warn: (message: string, fields: Record<string, unknown>) => void,
): { connectTimeoutMs?: number } {
  const registry = options.registry as { dialTimeoutMs?: unknown; dialTimeout?: unknown } | undefined
  const dial = registry?.dialTimeoutMs ?? registry?.dialTimeout
  if (typeof dial !== 'number' || !Number.isInteger(dial) || dial < 1 || dial > MAX_TIMER_MS) return {}
  const set = (options.transport as { connectTimeoutMs?: unknown } | undefined)?.connectTimeoutMs
  if (set !== undefined) {
    if (typeof set === 'number' && set < dial) {
      warn('transport.connectTimeoutMs ends every dial before registry.dialTimeoutMs', {
        connectTimeoutMs: set,
        dialTimeoutMs: dial,
      })
    }
    return {}
  }
  return dial > TRANSPORT_CONNECT_TIMEOUT ? { connectTimeoutMs: dial } : {}
}

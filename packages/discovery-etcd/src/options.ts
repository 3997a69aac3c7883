// The public options and counters of EtcdDiscovery, and their validation (resolveEtcdOptions).
// biome-ignore lint/style/useImportType: a plain import keeps the API report's import lines as they were
import { type AbortOptions, type BackendOptions } from '@peer/discovery-core'
import { numberOption, renamedOption } from '@peer/discovery-core/internal'
import type { IOptions } from 'etcd3'
import { EtcdConfigError } from './errors.js'
import { DEFAULT_MAX_VALUE_BYTES, nodesPrefix } from './node-value.js'

/** Options of {@link EtcdDiscovery}. */
export interface EtcdDiscoveryOptions extends BackendOptions {
  /** etcd client URLs (`http://host:2379`); several for a cluster, with failover between them. */
  endpoints: string | readonly string[]
  /** Key prefix; nodes live under `<prefix>/nodes/<id>`. Default `/peer`. */
  prefix?: string | undefined
  /** Lease TTL of this node's announcement, whole seconds from 1 to 1,000,000. Default 10. */
  ttl?: number | undefined
  /**
   * How long (ms) the last known peers are kept while etcd is unreachable before they are reported
   * lost with reason `stale`. Default 60,000; `Infinity` keeps them until etcd answers again.
   */
  staleAfterMs?: number | undefined
  /**
   * Same as `staleAfterMs` (ms). Giving it with a different `staleAfterMs` is an `EtcdConfigError`.
   * @deprecated Use `staleAfterMs` (same unit, ms); accepted until the next minor version.
   */
  staleLimit?: number | undefined
  /**
   * After etcd came back EMPTY (restarted with a new data dir), how long (ms) peers missing from it
   * get to announce themselves again before they are reported lost. Default 2 x `ttl`.
   */
  resetGraceMs?: number | undefined
  /**
   * Same as `resetGraceMs` (ms). Giving it with a different `resetGraceMs` is an `EtcdConfigError`.
   * @deprecated Use `resetGraceMs` (same unit, ms); accepted until the next minor version.
   */
  resetGrace?: number | undefined
  /** Deadline of each etcd request, ms. Default 3000. */
  requestTimeoutMs?: number | undefined
  /**
   * Same as `requestTimeoutMs` (ms). Giving it with a different `requestTimeoutMs` is an
   * `EtcdConfigError`.
   * @deprecated Use `requestTimeoutMs` (same unit, ms); accepted until the next minor version.
   */
  requestTimeout?: number | undefined
  /** Longest pause between retries and watch reconnection attempts, ms. Default 1000. */
  maxRetryDelayMs?: number | undefined
  /**
   * Same as `maxRetryDelayMs` (ms). Giving it with a different `maxRetryDelayMs` is an
   * `EtcdConfigError`.
   * @deprecated Use `maxRetryDelayMs` (same unit, ms); accepted until the next minor version.
   */
  maxRetryDelay?: number | undefined
  /**
   * Interval (ms) of a cheap consistency check (one range request) that catches an etcd reset the
   * watch cannot see. Default 30,000; 0 disables it.
   */
  checkIntervalMs?: number | undefined
  /**
   * Same as `checkIntervalMs` (ms). Giving it with a different `checkIntervalMs` is an
   * `EtcdConfigError`.
   * @deprecated Use `checkIntervalMs` (same unit, ms); accepted until the next minor version.
   */
  checkInterval?: number | undefined
  /** Largest value read from etcd, bytes; larger ones are counted and dropped. Default 16 KiB. */
  maxValueBytes?: number | undefined
  /** Most keys read by one re-list (a range `limit`). Default `maxPeers` + 1000. */
  maxListKeys?: number | undefined
  /**
   * How many invalid keys are remembered so that a re-list does not count the same bad value
   * again. Default 1024; beyond it the oldest are forgotten (and may be counted again).
   */
  maxTrackedInvalid?: number | undefined
  /** Extra etcd3 client options (auth, TLS credentials, grpc options). */
  client?: Partial<IOptions> | undefined
}

/** Options of {@link EtcdDiscovery.list}. */
export interface EtcdListOptions extends AbortOptions {
  /** Re-list the prefix from etcd before answering, instead of answering from the mirror. */
  fresh?: boolean | undefined
}

/** Counters of the etcd side of the backend; they only grow. */
export interface EtcdDiscoveryCounters {
  /** Unary requests sent (range, put, lease grant, lease revoke) and watches created. */
  requests: number
  /** Lease keepalive messages sent. */
  keepalives: number
  /** Watch events received. */
  watchEvents: number
  /** Full re-lists (start, watch cancelled or compacted, reconnect, reset). */
  resyncs: number
  /** Times etcd was found reset (revision went backwards or the cluster id changed). */
  resets: number
  /** Watches cancelled by etcd (e.g. their revision was compacted). */
  watchCancels: number
  /** Leases granted. */
  leaseGrants: number
  /** Leases lost (keepalive lost for 2 x TTL, lease expired or revoked by someone else). */
  leaseLosses: number
  /** Times the announcement was written again after it was lost or deleted. */
  reannounces: number
  /** Peers reported lost because etcd stayed unreachable longer than `staleAfterMs`. */
  staleDrops: number
}

/** {@link EtcdDiscoveryOptions} validated, with defaults applied. */
export interface ResolvedEtcdOptions {
  endpoints: readonly string[]
  ttl: number
  /** Normalised, no trailing slash. */
  prefix: string
  /** `<prefix>/nodes/` */
  keyPrefix: string
  staleLimitMs: number
  resetGraceMs: number
  requestTimeoutMs: number
  maxRetryDelayMs: number
  checkIntervalMs: number
  maxValueBytes: number
  maxListKeys: number
  maxTrackedInvalid: number
  client: Partial<IOptions> | undefined
}

/** Longest lease TTL, s (about 11.5 days). */
export const MAX_TTL_S = 1_000_000

/** Validates the options (throws {@link EtcdConfigError}) and applies the defaults. */
export function resolveEtcdOptions(options: EtcdDiscoveryOptions, maxPeers: number): ResolvedEtcdOptions {
  const endpoints =
    typeof options.endpoints === 'string' ? [options.endpoints] : [...(options.endpoints ?? [])]
  if (endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string' || e === '')) {
    throw new EtcdConfigError('endpoints: give at least one etcd URL such as http://127.0.0.1:2379')
  }
  // whole seconds (an etcd lease TTL); at most MAX_TTL_S, so that the derived `resetGraceMs`
  // (2 x ttl) stays a valid timer
  const ttl = numberOption(options.ttl, 'ttl', 10, { integer: true, min: 1, max: MAX_TTL_S }, EtcdConfigError)
  const positive = (name: string, value: unknown, fallback: number, allowZero = false) =>
    value === Number.POSITIVE_INFINITY
      ? value
      : numberOption(value, name, fallback, { min: 0, exclusiveMin: !allowZero }, EtcdConfigError)
  const ms = (current: string, deprecated: string) =>
    renamedOption(options, { current, deprecated, owner: 'EtcdDiscovery', error: EtcdConfigError })
  const prefix = nodesPrefix(options.prefix ?? '/peer').slice(0, -'/nodes/'.length)
  return {
    endpoints,
    ttl,
    prefix,
    keyPrefix: nodesPrefix(prefix),
    staleLimitMs: positive('staleAfterMs', ms('staleAfterMs', 'staleLimit'), 60_000),
    resetGraceMs: positive('resetGraceMs', ms('resetGraceMs', 'resetGrace'), 2 * ttl * 1000, true),
    requestTimeoutMs: positive('requestTimeoutMs', ms('requestTimeoutMs', 'requestTimeout'), 3000),
    maxRetryDelayMs: positive('maxRetryDelayMs', ms('maxRetryDelayMs', 'maxRetryDelay'), 1000),
    checkIntervalMs: positive('checkIntervalMs', ms('checkIntervalMs', 'checkInterval'), 30_000, true),
    maxValueBytes: positive('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES),
    maxListKeys: positive('maxListKeys', options.maxListKeys, maxPeers + 1000),
    maxTrackedInvalid: positive('maxTrackedInvalid', options.maxTrackedInvalid, 1024),
    client: options.client,
  }
}

/** Counters that all start at 0. */
export function zeroCounters(): EtcdDiscoveryCounters {
  return {
    requests: 0,
    keepalives: 0,
    watchEvents: 0,
    resyncs: 0,
    resets: 0,
    watchCancels: 0,
    leaseGrants: 0,
    leaseLosses: 0,
    reannounces: 0,
    staleDrops: 0,
  }
}

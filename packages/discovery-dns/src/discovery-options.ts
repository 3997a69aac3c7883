import type { BackendOptions } from '@peer/discovery-core'
import { describeValue, numberOption, quote, renamedOption, secondsToMs } from '@peer/discovery-core/internal'
import { normaliseName } from './dns-message.js'
import { DnsConfigError } from './errors.js'
import type { IdSource } from './txt-attributes.js'

/** Options of {@link DnsDiscovery}. Durations are in milliseconds (`...Ms`). */
export interface DnsDiscoveryOptions extends BackendOptions {
  /**
   * DNS servers to ask, as `host:port` IP literals (`"10.96.0.10:53"`, `"[::1]:5353"`). Required:
   * there is no default, so discovery never asks a system or public resolver by accident.
   */
  resolvers: readonly string[] | string
  /** The zone peers live in, e.g. `peer.svc.cluster.local`. Needed unless `service` is given. */
  domain?: string | undefined
  /** The SRV name to watch. Default `_peer._udp.<domain>`. */
  service?: string | undefined
  /** SRV prefix used by `lookup(name)` for per-node SRV records. Default `_peer._udp`. */
  servicePrefix?: string | undefined
  /** Port used by `lookup()` when a node has A/AAAA records but no SRV record. Default 4433. */
  defaultPort?: number | undefined
  /** Where node ids come from: TXT `id=`, the target's first label, or either. Default `txt-or-label`. */
  idSource?: IdSource | undefined
  /** Address families asked for every target. Default `[4, 6]` (A and AAAA). */
  families?: ReadonlyArray<4 | 6> | undefined
  /** Shortest cache lifetime, ms (0 TTLs are raised to it). Default 2000. */
  minTtlMs?: number | undefined
  /**
   * The shortest cache lifetime, as `minTtlMs` but in seconds. Giving it with a different `minTtlMs` is a
   * `DnsConfigError`.
   * @deprecated Use `minTtlMs` (milliseconds); `minTtl` is in seconds and accepted until the next minor
   * version.
   */
  minTtl?: number | undefined
  /** Longest cache lifetime of a positive answer, ms (huge TTLs are cut to it). Default 60,000. */
  maxTtlMs?: number | undefined
  /**
   * The longest cache lifetime of a positive answer, as `maxTtlMs` but in seconds. Giving it with a different
   * `maxTtlMs` is a `DnsConfigError`.
   * @deprecated Use `maxTtlMs` (milliseconds); `maxTtl` is in seconds and accepted until the next minor
   * version.
   */
  maxTtl?: number | undefined
  /** Negative caching time, ms, when an NXDOMAIN/NODATA carries no SOA. Default 5000. */
  negativeTtlMs?: number | undefined
  /**
   * The negative caching time when an NXDOMAIN/NODATA carries no SOA, as `negativeTtlMs` but in seconds.
   * Giving it with a different `negativeTtlMs` is a `DnsConfigError`.
   * @deprecated Use `negativeTtlMs` (milliseconds); `negativeTtl` is in seconds and accepted until the next
   * minor version.
   */
  negativeTtl?: number | undefined
  /** Longest negative caching time, ms. Default 60,000. */
  maxNegativeTtlMs?: number | undefined
  /**
   * The longest negative caching time, as `maxNegativeTtlMs` but in seconds. Giving it with a different
   * `maxNegativeTtlMs` is a `DnsConfigError`.
   * @deprecated Use `maxNegativeTtlMs` (milliseconds); `maxNegativeTtl` is in seconds and accepted until the
   * next minor version.
   */
  maxNegativeTtl?: number | undefined
  /** Re-queries are delayed by up to this fraction of the wait, at random. Default 0.1. */
  jitter?: number | undefined
  /**
   * Peers last confirmed longer ago than this (ms) are lost (reason `stale`) while DNS fails.
   * Default 300,000.
   */
  staleAfterMs?: number | undefined
  /**
   * How long peers stay after their last confirmation while DNS fails, as `staleAfterMs` but in seconds.
   * Giving it with a different `staleAfterMs` is a `DnsConfigError`.
   * @deprecated Use `staleAfterMs` (milliseconds); `staleAfter` is in seconds and accepted until the next
   * minor version.
   */
  staleAfter?: number | undefined
  /** First retry delay after a failed poll, ms; doubles up to `maxRetryDelayMs`. Default 1000. */
  retryDelayMs?: number | undefined
  /**
   * The first retry delay after a failed poll, as `retryDelayMs` but in seconds. Giving it with a different
   * `retryDelayMs` is a `DnsConfigError`.
   * @deprecated Use `retryDelayMs` (milliseconds); `retryDelay` is in seconds and accepted until the next
   * minor version.
   */
  retryDelay?: number | undefined
  /**
   * Longest wait between retries while DNS fails, in ms. Default: the lifetime of the last good
   * answer (its clamped TTL, at least `retryDelayMs`), so a poll is never rarer during an outage than
   * in steady state and the peers are back within one TTL of the server answering again; `maxTtlMs`
   * until a first answer came in. Jitter only shortens retries, never beyond this cap.
   */
  maxRetryDelayMs?: number | undefined
  /** Time to wait for one answer from one server, in ms. Default 2000. */
  timeoutMs?: number | undefined
  /** Rounds over the resolver list before a query fails. Default 2. */
  attempts?: number | undefined
  /** EDNS(0) UDP payload size advertised. Default 1232; 512 disables EDNS. */
  udpPayloadSize?: number | undefined
  /** Most cached answers. Default 10,000. */
  maxCacheEntries?: number | undefined
  /** Most SRV records used from one answer. Default 1,000. */
  maxSrvRecords?: number | undefined
  /**
   * Targets resolved in parallel (each asks TXT, A and AAAA at once, on one socket per resolver).
   * Default 32.
   */
  concurrency?: number | undefined
  /** Seed for the RFC 2782 weighted order and the jitter: same seed, same choices. Default random. */
  seed?: number | undefined
  /** Source label put on records. Default `dns`. */
  source?: string | undefined
}

/** The SRV name watched and the zone, from the `service`, `domain` and `servicePrefix` options. */
export function serviceAndDomain(
  service: string | undefined,
  domain: string | undefined,
  prefix: string | undefined,
): { service: string; domain: string } {
  if (domain !== undefined && (typeof domain !== 'string' || domain.trim() === '')) {
    throw new DnsConfigError(`domain must be a non-empty DNS name, got ${describeValue(domain)}`, {
      option: 'domain',
    })
  }
  if (service !== undefined && (typeof service !== 'string' || service.trim() === '')) {
    throw new DnsConfigError(`service must be a non-empty DNS name, got ${describeValue(service)}`, {
      option: 'service',
    })
  }
  if (service === undefined && domain === undefined) {
    throw new DnsConfigError('give `domain` (the service is then _peer._udp.<domain>) or `service`')
  }
  const d =
    domain !== undefined
      ? normaliseName(domain)
      : normaliseName(service!)
          .split('.')
          .filter((l) => !l.startsWith('_'))
          .join('.')
  const s = service !== undefined ? normaliseName(service) : `${normaliseName(prefix ?? '_peer._udp')}.${d}`
  for (const [what, name] of [
    ['service', s],
    ['domain', d],
  ] as const) {
    if (
      name.length === 0 ||
      name.length > 253 ||
      name.split('.').some((l) => l.length === 0 || l.length > 63)
    ) {
      throw new DnsConfigError(`${what} ${quote(name)} is not a valid DNS name`, { option: what })
    }
  }
  return { service: s, domain: d }
}

/**
 * A duration option in seconds for internal use, read from its millisecond name (`current`) or its
 * deprecated seconds name, checked >= `minSeconds`; throws a {@link DnsConfigError} naming `current`.
 */
export function durationSeconds(
  options: object,
  current: string,
  deprecated: string,
  fallbackSeconds: number,
  minSeconds: number,
): number {
  const value = renamedOption(options, {
    current,
    deprecated,
    convert: secondsToMs,
    owner: 'DnsDiscovery',
    error: DnsConfigError,
  })
  const ms = numberOption(value, current, fallbackSeconds * 1000, { min: minSeconds * 1000 }, DnsConfigError)
  return ms / 1000
}

/** A number option >= `min` (or `fallback` when absent); throws a {@link DnsConfigError}. */
export function seconds(value: number | undefined, fallback: number, name: string, min: number): number {
  return numberOption(value, name, fallback, { min }, DnsConfigError)
}

/** A positive integer option (or `fallback` when absent); throws a {@link DnsConfigError}. */
export function count(value: number | undefined, fallback: number, name: string): number {
  return numberOption(value, name, fallback, { integer: true, min: 1 }, DnsConfigError)
}

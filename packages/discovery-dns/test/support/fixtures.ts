import { testId } from '@peer/testkit/ids'
import { DnsDiscovery, type DnsDiscoveryOptions } from '../../src/index.js'
import type { ZoneRecord } from './dns2-server.js'

export const DOMAIN = 'peer.test'
export const SERVICE = `_peer._udp.${DOMAIN}`

/** Records for one peer: SRV on the service, TXT id/name on the target, A (and AAAA) addresses. */
export function peerZone(
  label: string,
  opts: {
    port?: number
    v4?: string[]
    v6?: string[]
    txt?: string[] | false
    priority?: number
    weight?: number
    ttl?: number
    target?: string
  } = {},
): { id: string; target: string; records: ZoneRecord[] } {
  const id = testId(label)
  const target = opts.target ?? `${label}.${DOMAIN}`
  const ttl = opts.ttl
  const records: ZoneRecord[] = [
    {
      name: SERVICE,
      type: 'SRV',
      target,
      port: opts.port ?? 4000,
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
    },
  ]
  if (opts.txt !== false) {
    records.push({
      name: target,
      type: 'TXT',
      strings: opts.txt ?? [`id=${id}`, `name=${label}@${label}`],
      ...(ttl !== undefined ? { ttl } : {}),
    })
  }
  for (const address of opts.v4 ?? ['127.0.0.1'])
    records.push({ name: target, type: 'A', address, ...(ttl !== undefined ? { ttl } : {}) })
  for (const address of opts.v6 ?? [])
    records.push({ name: target, type: 'AAAA', address, ...(ttl !== undefined ? { ttl } : {}) })
  return { id, target, records }
}

/** A backend with short, test-friendly timings. */
export function fastBackend(
  resolver: string | string[],
  overrides: Partial<DnsDiscoveryOptions> = {},
): DnsDiscovery {
  return new DnsDiscovery({
    resolvers: Array.isArray(resolver) ? resolver : [resolver],
    domain: DOMAIN,
    minTtlMs: 100,
    maxTtlMs: 1000,
    negativeTtlMs: 100,
    maxNegativeTtlMs: 1000,
    retryDelayMs: 50,
    // the server shares this process's event loop (and the machine is shared): be patient
    timeoutMs: 1000,
    attempts: 2,
    jitter: 0,
    seed: 1,
    ...overrides,
  })
}

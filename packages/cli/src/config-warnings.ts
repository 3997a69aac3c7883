// What a valid configuration still gets wrong, found before anything starts (`peer start --check`
// lists them; `peer start` logs them at warn): the checks of docs/troubleshooting.md that need no
// network. Each is a hint; the node starts all the same.
import {
  type DiscoveryBackend,
  formatHostPort,
  isWildcardHost,
  type PeerAddress,
  shortId,
} from '@peer/discovery-core'
import { isLoopbackHostOrName } from '@peer/discovery-core/internal'
import type { PeerConfig } from './config.js'

/** Most ids a warning names. */
const MAX_IDS = 3

/** What the warnings know beyond the configuration. */
export interface WarningFacts {
  /**
   * The ids each static backend of `config.discovery` lists from all its sources (inline, `file`,
   * `env`), by index (see {@link staticListedIds}); without it, only inline `peers` are known.
   */
  listed?: ReadonlyMap<number, readonly string[]>
  /** The identity's key type, when it exists. */
  keyType?: string | undefined
  /** This node's id, when it exists: a shared list names it too, and it is not a stranger. */
  self?: string | undefined
}

/** The warnings of `config`, given the trust list it loads (`trusted`, `size`). */
export function configWarnings(
  config: PeerConfig,
  trust: { has(id: string): boolean; size: number; list?(): ReadonlyArray<{ id: string }> },
  facts: WarningFacts = {},
): string[] {
  const warnings: string[] = []
  if (facts.keyType === 'p256') {
    warnings.push(
      'the identity is P-256: this node runs on the matrixai QUIC engine, and peers on quinn (the default engine) refuse its certificate (use an Ed25519 identity, `peer keygen` without --key-type, unless every node sets PEER_QUIC_ENGINE=matrixai)',
    )
  }
  if (trust.size === 0) {
    warnings.push(
      'the trust list is empty: this node dials and accepts nobody (add ids with --trust, a trust file, or `peer keygen --trust-file`)',
    )
  }
  const announced = config.advertise ?? (isWildcardHost(config.listen.host) ? undefined : [config.listen])
  const loopbackOnly = announced?.every((a) => isLoopbackHostOrName(a.host)) === true
  const shown = (announced ?? []).map((a: PeerAddress) => formatHostPort(a.host, a.port)).join(', ')
  for (const backend of config.discovery) {
    if (backend.backend === 'etcd' && loopbackOnly) {
      const endpoints = typeof backend.endpoints === 'string' ? [backend.endpoints] : backend.endpoints
      const remote = endpoints.find((e) => !isLoopbackHostOrName(hostOf(e)))
      if (remote !== undefined) {
        warnings.push(
          `etcd at ${remote} may be read by other hosts, but this node announces only ${shown}: they would dial their own loopback (listen on 0.0.0.0, or --advertise an address of this host)`,
        )
      }
    }
    if (backend.backend === 'mdns' && loopbackOnly) {
      warnings.push(
        `mdns does not publish a node that announces only ${shown} on other interfaces, so no other host finds it (listen on 0.0.0.0, or on an interface's address)`,
      )
    }
  }
  const listedIds = (i: number): readonly string[] => {
    const entry = config.discovery[i]
    return facts.listed?.get(i) ?? (entry?.backend === 'static' ? (entry.peers ?? []).map((p) => p.id) : [])
  }
  config.discovery.forEach((backend, i) => {
    if (backend.backend !== 'static' || trust.size === 0) return
    const strangers = listedIds(i).filter((id) => id !== facts.self && !trust.has(id))
    if (strangers.length > 0) {
      warnings.push(
        `static lists ${strangers.length} peer(s) not in the trust list, which are never dialed: ${someIds(strangers)}`,
      )
    }
  })
  // with static lists only, a trusted peer no list names is never dialed (it can still dial us)
  const staticOnly = config.discovery.length > 0 && config.discovery.every((b) => b.backend === 'static')
  if (staticOnly && trust.list !== undefined) {
    const listed = new Set(config.discovery.flatMap((_, i) => listedIds(i)))
    const unlisted = trust
      .list()
      .map((e) => e.id)
      .filter((id) => id !== facts.self && !listed.has(id))
    if (unlisted.length > 0) {
      warnings.push(
        `${unlisted.length} trusted peer(s) are in no static list, so this node never dials them (they can still dial it): ${someIds(unlisted)}`,
      )
    }
  }
  return warnings
}

/** Up to {@link MAX_IDS} short ids, and how many more. */
function someIds(ids: readonly string[]): string {
  const more = ids.length > MAX_IDS ? ` and ${ids.length - MAX_IDS} more` : ''
  return `${ids.slice(0, MAX_IDS).map(shortId).join(', ')}${more}`
}

/**
 * The ids each static backend lists from all its sources, by its index in `config.discovery`, read
 * from `backends` (the same order; started, or started here and stopped again when `start` is
 * true). A list that cannot be read rejects with the backend's `StaticConfigError`, as `peer
 * start` would.
 */
export async function staticListedIds(
  config: PeerConfig,
  backends: ReadonlyArray<DiscoveryBackend | undefined>,
  options: { start?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<Map<number, string[]>> {
  const listed = new Map<number, string[]>()
  for (const [i, entry] of config.discovery.entries()) {
    const backend = backends[i]
    if (entry.backend !== 'static' || backend?.list === undefined) continue
    if (options.start === true) await backend.start({ signal: options.signal })
    try {
      listed.set(
        i,
        (await backend.list({ signal: options.signal })).map((p) => p.id),
      )
    } finally {
      if (options.start === true) await backend.stop()
    }
  }
  return listed
}

/** The host of an etcd endpoint URL (`http://10.0.0.5:2379`), or the endpoint when it is none. */
function hostOf(endpoint: string): string {
  try {
    const host = new URL(endpoint).hostname
    return host.startsWith('[') ? host.slice(1, -1) : host
  } catch {
    return endpoint
  }
}

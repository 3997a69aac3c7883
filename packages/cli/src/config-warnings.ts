// What a valid configuration still gets wrong, found before anything starts (`peer start --check`
// lists them; `peer start` logs them at warn): the checks of docs/troubleshooting.md that need no
// network. Each is a hint; the node starts all the same.
import { formatHostPort, isWildcardHost, type PeerAddress, shortId } from '@peer/discovery-core'
import { isLoopbackHostOrName } from '@peer/discovery-core/internal'
import type { PeerConfig } from './config.js'

/** Most ids a warning names. */
const MAX_IDS = 3

/** The warnings of `config`, given the trust list it loads (`trusted`, `size`). */
export function configWarnings(
  config: PeerConfig,
  trust: { has(id: string): boolean; size: number },
): string[] {
  const warnings: string[] = []
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
    if (backend.backend === 'static' && backend.peers !== undefined && trust.size > 0) {
      const strangers = backend.peers.filter((p) => !trust.has(p.id)).map((p) => shortId(p.id))
      if (strangers.length > 0) {
        const more = strangers.length > MAX_IDS ? ` and ${strangers.length - MAX_IDS} more` : ''
        warnings.push(
          `static lists ${strangers.length} peer(s) not in the trust list, which are never dialed: ${strangers.slice(0, MAX_IDS).join(', ')}${more}`,
        )
      }
    }
  }
  return warnings
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

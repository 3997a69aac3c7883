import { formatHostPort, servicesOf } from '@peer/discovery-core'
import type { PeerNode } from '@peer/node'

/** One provider of a service in a {@link ServicesSnapshot}. */
export interface ServiceProviderInfo {
  /** The provider's node id. */
  id: string
  /** Its name, when discovery or the connection knows it. */
  name?: string | undefined
  /** The addresses discovery reports for it (`host:port`). */
  addresses: string[]
  /** True while a connection to it is up. */
  connected: boolean
  /** Round-trip time in ms, when known. */
  rttMs?: number | undefined
}

/** One service name with its providers. */
export interface ServiceEntry {
  /** The service name. */
  service: string
  /** True when the node answering provides it itself (`peer start --provide`). */
  provided: boolean
  /**
   * The other members providing it: connected ones first, then by RTT (unknown last), then by
   * name. (`request({ service })` picks by how fast a provider answers, under 10 ms counting as
   * equal, and by its requests in flight: requests spread over the providers.)
   */
  providers: ServiceProviderInfo[]
}

/** What `peer services` receives from a running `peer start`. */
export interface ServicesSnapshot {
  /** The node answering: its id, name and the services it provides itself. */
  node: { id: string; name: string; provides: string[] }
  /** Every service name this node or a trusted member provides, sorted. */
  services: ServiceEntry[]
}

/**
 * Builds the services snapshot of a running node (read-only): the names it provides, and for every
 * service name in the records of the members it knows, the trusted providers
 * (`node.providers(name)`) with addresses, connection state and RTT.
 */
export function servicesSnapshot(node: PeerNode): ServicesSnapshot {
  const known = new Map(node.knownPeers().map((p) => [p.id, p]))
  const names = new Set<string>(node.provided)
  const discovery = node.discovery
  for (const id of known.keys()) {
    const record = discovery?.get(id)
    if (record !== undefined) for (const name of servicesOf(record).services) names.add(name)
  }
  const services: ServiceEntry[] = []
  for (const service of [...names].sort()) {
    const providers = node.providers(service).map((id): ServiceProviderInfo => {
      const link = node.peer(id)
      const status = known.get(id)
      const record = discovery?.get(id)
      const addresses = (status?.addresses ?? record?.addresses ?? []).map((a) =>
        formatHostPort(a.host, a.port),
      )
      return {
        id,
        name: link?.name ?? status?.name ?? record?.name,
        addresses,
        connected: link !== undefined,
        rttMs: link?.stats.rtt ?? status?.rtt,
      }
    })
    providers.sort(
      (a, b) =>
        Number(b.connected) - Number(a.connected) ||
        (a.rttMs ?? Number.POSITIVE_INFINITY) - (b.rttMs ?? Number.POSITIVE_INFINITY) ||
        (a.name ?? a.id).localeCompare(b.name ?? b.id),
    )
    services.push({ service, provided: node.provided.includes(service), providers })
  }
  return { node: { id: node.id, name: node.name, provides: [...node.provided] }, services }
}

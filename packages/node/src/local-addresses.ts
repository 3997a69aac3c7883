import { hostname, networkInterfaces } from 'node:os'
import { type PeerAddress, parseNodeName } from '@peer/discovery-core'

/**
 * The addresses to announce for a bound listener: the bound address itself, or every
 * non-internal interface address (IPv4 only for `0.0.0.0`; no link-local IPv6) when bound to a
 * wildcard address. At most 16.
 * @internal
 */
export function announcedAddresses(bound: { host: string; port: number }): PeerAddress[] {
  if (bound.host !== '0.0.0.0' && bound.host !== '::') return [{ host: bound.host, port: bound.port }]
  const out: PeerAddress[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (bound.host === '0.0.0.0' && a.family !== 'IPv4')) continue
      if (a.family === 'IPv6' && a.address.startsWith('fe80')) continue
      out.push({ host: a.address, port: bound.port })
    }
  }
  return out.length > 0 ? out.slice(0, 16) : [{ host: '127.0.0.1', port: bound.port }]
}

/**
 * The node name: `name` as given when it has an `@`, `name@<short host name>` for a bare name, or
 * `port@ip` from the first announced address. Throws `InvalidNodeNameError` for a bad name.
 * @internal
 */
export function resolveName(name: string | undefined, address: PeerAddress): string {
  if (name === undefined) {
    const host = address.host.includes(':') ? `[${address.host}]` : address.host
    return `${address.port}@${host}`
  }
  const full = name.includes('@') ? name : `${name}@${shortHostname()}`
  parseNodeName(full) // throws InvalidNodeNameError with a clear message
  return full
}

/** The first label of the host name, or `localhost` when it is not a valid name part. @internal */
export function shortHostname(): string {
  const host = hostname().split('.')[0] ?? ''
  return /^[A-Za-z0-9-]+$/.test(host) ? host : 'localhost'
}

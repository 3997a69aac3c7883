import { hostname, networkInterfaces } from 'node:os'
import { ipFamily, isNodeName, isWildcardHost, type PeerAddress, parseNodeName } from '@peer/discovery-core'

/**
 * The addresses to announce for a bound listener: the bound address itself, or every
 * non-internal interface address (IPv4 only for `0.0.0.0`; no link-local IPv6) when bound to a
 * wildcard address. At most 16.
 * @internal
 */
export function announcedAddresses(bound: { host: string; port: number }): PeerAddress[] {
  if (!isWildcardHost(bound.host)) return [{ host: bound.host, port: bound.port }]
  const v4Only = ipFamily(bound.host) === 4
  const out: PeerAddress[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (v4Only && a.family !== 'IPv4')) continue
      if (a.family === 'IPv6' && a.address.startsWith('fe80')) continue
      out.push({ host: a.address, port: bound.port })
    }
  }
  return out.length > 0 ? out.slice(0, 16) : [{ host: '127.0.0.1', port: bound.port }]
}

/**
 * The node name: `name` as given when it has an `@`, `name@<short host name>` for a bare name, or
 * from the first announced address: `port@ip`, `port@127.0.0.1` for `localhost`, and
 * `node<port>@host` for a DNS name (`port@` takes an IP only). Throws `InvalidNodeNameError` for a
 * bad name.
 * @internal
 */
export function resolveName(name: string | undefined, address: PeerAddress): string {
  if (name === undefined) {
    const family = ipFamily(address.host)
    if (family === 6 && !address.host.startsWith('[')) return `${address.port}@[${address.host}]`
    if (family !== 0) return `${address.port}@${address.host}`
    if (address.host.toLowerCase() === 'localhost') return `${address.port}@127.0.0.1`
    const named = `node${address.port}@${address.host}`
    return isNodeName(named) ? named : `${address.port}@${address.host}`
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

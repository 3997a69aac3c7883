import { BlockList, isIP } from 'node:net'
import { quote } from './describe-value.js'
import { hasControlChars } from './text.js'

/** Longest DNS name accepted (RFC 1035 limits names to 253 characters in text form). */
export const MAX_HOSTNAME_LENGTH = 253

const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/

/** Why `host` is not a valid IP literal or DNS host name, or `undefined` when it is valid. */
export function hostProblem(host: string): string | undefined {
  if (host.length === 0) return 'host is empty'
  if (hasControlChars(host)) return 'host contains control characters'
  const bracketed = host.startsWith('[') && host.endsWith(']')
  const family = isIP(bracketed ? host.slice(1, -1) : host)
  if (family === 6 || (family === 4 && !bracketed)) return undefined
  if (bracketed && family === 4)
    return 'brackets are only for IPv6 addresses (write the IPv4 address without them)'
  if (host.includes(':')) return 'host looks like an IPv6 address but is not a valid one'
  if (/^[0-9.]+$/.test(host)) return 'host looks like an IPv4 address but is not a valid one'
  if (host.length > MAX_HOSTNAME_LENGTH) return `host is longer than ${MAX_HOSTNAME_LENGTH} characters`
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  for (const label of name.split('.')) {
    if (!LABEL.test(label)) {
      return `host label ${quote(label)} is not 1-63 letters, digits, '-' or '_' (no leading or trailing '-')`
    }
  }
  return undefined
}

/** True when `host` is an IP literal (IPv6 with or without brackets) or a valid DNS host name. */
export function isValidHost(host: string): boolean {
  return hostProblem(host) === undefined
}

/**
 * The IP family of `host` (4 or 6), or 0 for anything else. Accepts bracketed IPv6; a bracketed
 * IPv4 address (`[10.0.0.1]`) is not an IP literal.
 */
export function ipFamily(host: string): 0 | 4 | 6 {
  if (host.startsWith('[') && host.endsWith(']')) return isIP(host.slice(1, -1)) === 6 ? 6 : 0
  return isIP(host) as 0 | 4 | 6
}

/**
 * True for the unspecified ("any") address of either family: `0.0.0.0`, `::` (any spelling,
 * bracketed or not). A listener binds it to take every interface; nobody can dial it (a dial to it
 * reaches the dialer's own host), so it is never an address to announce.
 */
export function isWildcardHost(host: string): boolean {
  const family = ipFamily(host)
  if (family === 4) return host === '0.0.0.0'
  return family === 6 && /^\[?[0:]+\]?$/.test(host)
}

// destinations no dial can reach a peer at: "this network" (0.0.0.0/8, the unspecified address
// among them), multicast, and the IPv4 broadcast address; IPv6 also in their IPv4-mapped form
const UNDIALABLE = new BlockList()
UNDIALABLE.addSubnet('0.0.0.0', 8, 'ipv4')
UNDIALABLE.addSubnet('224.0.0.0', 4, 'ipv4')
UNDIALABLE.addAddress('255.255.255.255', 'ipv4')
UNDIALABLE.addAddress('::', 'ipv6')
UNDIALABLE.addSubnet('ff00::', 8, 'ipv6')
UNDIALABLE.addSubnet('::ffff:0:0', 104, 'ipv6')
UNDIALABLE.addSubnet('::ffff:e000:0', 100, 'ipv6')
UNDIALABLE.addAddress('::ffff:ffff:ffff', 'ipv6')

/**
 * Why no peer can be dialed at `host`, or `undefined` when it may be: the unspecified address
 * (`0.0.0.0`, `::`: a dial reaches the dialer's own host), the rest of `0.0.0.0/8`, a multicast
 * address (`224.0.0.0/4`, `ff00::/8`) or the IPv4 broadcast address (also IPv4-mapped). Host names
 * and every other IP literal pass; `host` is assumed valid (see {@link hostProblem}).
 */
export function undialableHostProblem(host: string): string | undefined {
  const family = ipFamily(host)
  if (family === 0) return undefined
  const bare = (host.startsWith('[') ? host.slice(1, -1) : host).replace(/%.*$/, '')
  if (!UNDIALABLE.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return undefined
  if (isWildcardHost(host))
    return `${bare} is the unspecified address: a listener binds it, but a dial to it reaches the dialer's own host`
  return `${bare} is a multicast, broadcast or "this network" address: no peer can be dialed at it`
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')

/**
 * True for a loopback IP literal: `127.0.0.0/8`, `::1` (any spelling, bracketed or not) and
 * IPv4-mapped loopback (`::ffff:127.0.0.1`). Host names (`localhost` too) are not IP literals: false.
 */
export function isLoopbackHost(host: string): boolean {
  const family = ipFamily(host)
  if (family === 0) return false
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  return LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6')
}

/** {@link isLoopbackHost}, or the name `localhost` (any case). @internal */
export function isLoopbackHostOrName(host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackHost(host)
}

/** Formats `host:port`, bracketing IPv6 literals (`[::1]:4000`). */
export function formatHostPort(host: string, port: number): string {
  return ipFamily(host) === 6 && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}

/** True for an integer port in 1-65535. */
export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535
}

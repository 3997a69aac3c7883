import { isIP } from 'node:net'
import { describeValue, quote } from '@peer/discovery-core/internal'
import { DnsConfigError } from './errors.js'

/** One DNS server to ask: an IP literal and a port. */
export interface ResolverAddress {
  /** IP literal, without brackets. */
  readonly host: string
  /** UDP and TCP port. */
  readonly port: number
  /** IP family of `host`. */
  readonly family: 4 | 6
}

/** Most resolvers accepted in one list. */
export const MAX_RESOLVERS = 16

/**
 * Parses a resolver list: `127.0.0.1:5353`, `[::1]:53`, `10.0.0.10` (port 53), `::1` (port 53).
 * Host names are refused: resolving the resolver would need a resolver, and the point of the list
 * is that nothing else (no system or public resolver) is ever asked. An empty or missing list is a
 * {@link DnsConfigError}: there is no default resolver.
 */
export function parseResolvers(input: unknown): ResolverAddress[] {
  if (input === undefined || input === null) {
    throw new DnsConfigError(
      'no DNS resolvers given: pass `resolvers: ["<ip>:<port>", ...]` (there is no default resolver, ' +
        'so discovery never falls back to a public or system resolver)',
    )
  }
  const list = typeof input === 'string' ? input.split(/[\s,]+/).filter((s) => s !== '') : input
  if (!Array.isArray(list))
    throw new DnsConfigError(
      `\`resolvers\` must be an array of "host:port" strings, got ${describeValue(list)}`,
      {
        option: 'resolvers',
      },
    )
  if (list.length === 0) throw new DnsConfigError('`resolvers` is empty: give at least one "host:port"')
  if (list.length > MAX_RESOLVERS) throw new DnsConfigError(`more than ${MAX_RESOLVERS} resolvers given`)
  return list.map((entry, i) => {
    if (typeof entry !== 'string')
      throw new DnsConfigError(`resolvers[${i}] is not a string: ${describeValue(entry)}`, {
        option: `resolvers[${i}]`,
      })
    return parseResolver(entry)
  })
}

/** Parses one `host:port` (or bare IP) resolver address. */
export function parseResolver(entry: string): ResolverAddress {
  const text = entry.trim()
  let host: string
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed) {
    host = bracketed[1]!
    portText = bracketed[2]
  } else if (isIP(text) === 6) {
    host = text
  } else {
    const colon = text.lastIndexOf(':')
    if (colon === -1) host = text
    else {
      host = text.slice(0, colon)
      portText = text.slice(colon + 1)
    }
  }
  const family = isIP(host)
  if (family === 0) {
    throw new DnsConfigError(
      `resolver ${quote(entry)} is not an IP literal with an optional port ("10.0.0.10:53", "[::1]:5353")`,
    )
  }
  const port = portText === undefined ? 53 : Number(portText)
  if (
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535 ||
    (portText !== undefined && !/^\d+$/.test(portText))
  ) {
    throw new DnsConfigError(`resolver ${quote(entry)} has an invalid port`)
  }
  return Object.freeze({ host, port, family: family as 4 | 6 })
}

/** Formats a resolver as `host:port` (`[v6]:port`). */
export function formatResolver(r: ResolverAddress): string {
  return r.family === 6 ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`
}

// A host name of a dial or a listen, resolved to an IP address before the engine sees it: quinn
// takes IP literals only ("invalid IP address syntax"), and both engines should use the same address.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { ipFamily, raceSignal } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { ConnectTimeoutError, TransportError } from './errors.js'
import type { TransportAddress } from './types.js'

/**
 * `address` with its host resolved: an IP literal in the spelling both engines take and
 * `localhost` as `127.0.0.1` (see {@link normalizedLiteral}), any other name
 * through the system resolver (`dns.lookup`: the hosts file, then DNS; its first answer). Rejects
 * with `TransportError` when the name does not resolve, `ConnectTimeoutError` after `timeoutMs`,
 * or the signal's `AbortError`.
 */
export async function resolveAddress(
  address: TransportAddress,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<TransportAddress> {
  const host = address.host
  const literal = normalizedLiteral(host)
  if (literal !== undefined) return literal === host ? address : { host: literal, port: address.port }
  if (host.includes('%') && ipFamily(host) === 6) {
    // link-local IPv6 with a zone (`fe80::1%eth0`, as mDNS reports them): neither engine takes a
    // zone (quinn: "invalid IP address syntax"; matrixai: "could not convert host")
    throw new TransportError(
      `cannot use ${host}: an IPv6 address with a zone (link-local) is not supported by the QUIC engines; use IPv4 or a global or unique-local IPv6 address`,
    )
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectTimeoutError(`${host} did not resolve within ${timeoutMs} ms`)),
      timeoutMs,
    )
  })
  try {
    const found = await raceSignal(Promise.race([lookup(name), late]), signal)
    return { host: found.address, port: address.port }
  } catch (error) {
    if (error instanceof ConnectTimeoutError || (error as Error)?.name === 'AbortError') throw error
    const code = (error as NodeJS.ErrnoException)?.code
    throw new TransportError(`cannot resolve ${host}: ${code ?? errorMessage(error)}`, { cause: error })
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The spelling of an IP literal (or `localhost`) both engines take, or `undefined` for anything
 * else: without brackets (`[::1]`: both refused it), an IPv4-mapped IPv6 address as its IPv4
 * address (`::ffff:127.0.0.1`: quinn's dial timed out), `localhost` in any case as `127.0.0.1`
 * (quinn refused `LOCALHOST`; matrixai looked it up, which may give `::1`). A zoned IPv6 address
 * is left to the caller.
 */
export function normalizedLiteral(host: string): string | undefined {
  if (host.toLowerCase() === 'localhost') return '127.0.0.1'
  const family = ipFamily(host)
  if (family === 4) return host
  if (family !== 6 || host.includes('%')) return undefined
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(.+)$/i.exec(bare)?.[1]
  if (mapped !== undefined && isIP(mapped) === 4) return mapped
  const hex = mapped === undefined ? undefined : /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped)
  if (hex) {
    const [hi, lo] = [Number.parseInt(hex[1]!, 16), Number.parseInt(hex[2]!, 16)]
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return bare
}

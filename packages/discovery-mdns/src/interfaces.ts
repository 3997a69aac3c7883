// Which network interfaces mDNS runs on, and which of them a packet came from.
import { isIPv4 } from 'node:net'
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os'

/** An IP address of an interface, with its prefix length. */
export interface InterfaceAddress {
  /** The IP address, without a `%scope` suffix. */
  readonly address: string
  /** 4 for IPv4, 6 for IPv6. */
  readonly family: 4 | 6
  /** Length in bits of the subnet prefix, from the system's CIDR (0 when it gives none). */
  readonly prefixLength: number
  /** True for IPv6 link-local (fe80::/10): dialable only with a `%interface` scope. */
  readonly linkLocal: boolean
}

/** An interface mDNS runs on. */
export interface MdnsInterface {
  /** The system's name of the interface, e.g. `eth0` or `en0`. */
  readonly name: string
  /** True for the loopback interface. */
  readonly loopback: boolean
  /** Its IPv4 addresses; empty when it has none or the filter turns IPv4 off. */
  readonly ipv4: readonly InterfaceAddress[]
  /** Its IPv6 addresses; empty when it has none or the filter turns IPv6 off. */
  readonly ipv6: readonly InterfaceAddress[]
}

/** An interface name, or a pattern matched against interface names. */
export type InterfaceMatcher = string | RegExp

/** Which interfaces to use. */
export interface InterfaceFilter {
  /** Only these interfaces (names or patterns). Default: every interface. */
  allow?: readonly InterfaceMatcher[] | undefined
  /** Never these interfaces (names or patterns); applied after `allow`. */
  deny?: readonly InterfaceMatcher[] | undefined
  /** Use IPv4. Default true. */
  ipv4?: boolean | undefined
  /** Use IPv6. Default true. */
  ipv6?: boolean | undefined
}

/** Source of the system's interfaces; `os.networkInterfaces` by default (replaceable in tests). */
export type InterfaceSource = () => NodeJS.Dict<NetworkInterfaceInfo[]>

const matches = (name: string, m: InterfaceMatcher) => (typeof m === 'string' ? m === name : m.test(name))

/**
 * The interfaces mDNS should run on: those with at least one usable address that pass the
 * allow/deny filter. Loopback is used only when it is the only interface left, so a node never
 * announces 127.0.0.1 to a real network but two nodes on one machine without a network still find
 * each other. Sorted by name.
 */
export function selectInterfaces(
  filter: InterfaceFilter = {},
  source: InterfaceSource = networkInterfaces,
): MdnsInterface[] {
  const useV4 = filter.ipv4 ?? true
  const useV6 = filter.ipv6 ?? true
  const all: MdnsInterface[] = []
  const system = source()
  for (const name of Object.keys(system).sort()) {
    if (filter.allow && filter.allow.length > 0 && !filter.allow.some((m) => matches(name, m))) continue
    if (filter.deny?.some((m) => matches(name, m))) continue
    const infos = system[name] ?? []
    const loopback = infos.some((i) => i.internal)
    const ipv4: InterfaceAddress[] = []
    const ipv6: InterfaceAddress[] = []
    for (const info of infos) {
      const prefixLength = Number((info.cidr ?? '/0').split('/')[1] ?? 0)
      if (info.family === 'IPv4' && useV4) {
        ipv4.push({ address: info.address, family: 4, prefixLength, linkLocal: false })
      } else if (info.family === 'IPv6' && useV6) {
        const address = info.address.split('%')[0]!
        ipv6.push({ address, family: 6, prefixLength, linkLocal: /^fe[89ab]/i.test(address) })
      }
    }
    if (ipv4.length === 0 && ipv6.length === 0) continue
    all.push({ name, loopback, ipv4, ipv6 })
  }
  const external = all.filter((i) => !i.loopback)
  return external.length > 0 ? external : all
}

/** A comparable fingerprint of an interface's addresses (to notice changes). */
export function interfaceFingerprint(iface: MdnsInterface): string {
  return [...iface.ipv4, ...iface.ipv6].map((a) => `${a.address}/${a.prefixLength}`).join(',')
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0)
}

function ipv6ToBytes(address: string): Uint8Array | undefined {
  const clean = address.split('%')[0]!
  let head: string[]
  let tail: string[] = []
  if (clean.includes('::')) {
    const [h, t] = clean.split('::')
    head = h ? h.split(':') : []
    tail = t ? t.split(':') : []
  } else {
    head = clean.split(':')
  }
  const expand = (parts: string[]) => {
    const out: number[] = []
    for (const p of parts) {
      if (p.includes('.')) {
        const v = ipv4ToInt(p)
        out.push(v >>> 16, v & 0xffff)
      } else out.push(Number.parseInt(p, 16))
    }
    return out
  }
  const h = expand(head)
  const t = expand(tail)
  const words = [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill(0), ...t]
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined
  const bytes = new Uint8Array(16)
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8
    bytes[2 * i + 1] = w & 0xff
  })
  return bytes
}

/** True when `address` lies in `net`'s subnet. */
export function inSubnet(address: string, net: InterfaceAddress): boolean {
  if (net.family === 4) {
    if (!isIPv4(address)) return false
    const bits = net.prefixLength
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    return (ipv4ToInt(address) & mask) >>> 0 === (ipv4ToInt(net.address) & mask) >>> 0
  }
  const a = ipv6ToBytes(address)
  const b = ipv6ToBytes(net.address)
  if (!a || !b) return false
  let bits = net.prefixLength
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((a[i]! & mask) !== (b[i]! & mask)) return false
  }
  return true
}

/**
 * True when a packet from `source` can have arrived on `iface` (RFC 6762 section 11: mDNS senders
 * are on-link). IPv6 link-local sources carry their interface as `%scope`; loopback accepts
 * 127.0.0.0/8 and ::1.
 */
export function isOnLink(source: string, iface: MdnsInterface): boolean {
  const scope = source.includes('%') ? source.split('%')[1] : undefined
  if (scope !== undefined) return scope === iface.name
  // on loopback the kernel may report 0.0.0.0 as the source of multicast from an unbound sender
  if (iface.loopback && (source.startsWith('127.') || source === '::1' || source === '0.0.0.0')) return true
  const nets = isIPv4(source) ? iface.ipv4 : iface.ipv6
  return nets.some((n) => inSubnet(source, n))
}

// One multicast-dns socket for one interface and one IP family: joined to the mDNS group on that
// interface only, sending through that interface, bound to the mDNS port (source port 5353, as
// RFC 6762 section 11 requires).
import { createSocket, type RemoteInfo } from 'node:dgram'
import makeMdns from 'multicast-dns'
import { MdnsSocketError } from './errors.js'
import type { MdnsInterface } from './interfaces.js'

/** The IPv4 mDNS group (RFC 6762). */
export const MDNS_IPV4_GROUP = '224.0.0.251'
/** The IPv6 link-local mDNS group (RFC 6762). */
export const MDNS_IPV6_GROUP = 'ff02::fb'

/** Where a unicast reply goes. */
export interface Destination {
  address: string
  port: number
}

/** Options of {@link InterfaceSocket}. */
export interface InterfaceSocketOptions {
  iface: MdnsInterface
  family: 4 | 6
  port: number
  /** A decoded packet arrived (from any interface: filter with `isOnLink`). */
  onPacket(packet: DnsPacket, rinfo: RemoteInfo): void
  /** A datagram could not be decoded. */
  onMalformed(error: Error, rinfo: RemoteInfo | undefined): void
  /** A non-fatal socket problem (membership, send). */
  onWarning(error: Error): void
}

type Mdns = ReturnType<typeof makeMdns>
type MdnsSend = {
  send(packet: unknown, rinfo: Destination | undefined, cb: (error: Error | null) => void): void
}

/** A multicast-dns instance bound to one interface and family. */
export class InterfaceSocket {
  readonly iface: MdnsInterface
  readonly family: 4 | 6
  /** The address used to pick the interface (IPv4 address, or `::%name` for IPv6). */
  readonly interfaceAddress: string
  readonly #options: InterfaceSocketOptions
  #mdns: Mdns | undefined
  #closed = false

  constructor(options: InterfaceSocketOptions) {
    this.#options = options
    this.iface = options.iface
    this.family = options.family
    const v4 = options.iface.ipv4[0]
    if (options.family === 4 && v4 === undefined)
      throw new MdnsSocketError(options.iface.name, 'no IPv4 address')
    this.interfaceAddress = options.family === 4 ? v4!.address : `::%${options.iface.name}`
  }

  /** The mDNS group this socket sends to. */
  get group(): string {
    return this.family === 4 ? MDNS_IPV4_GROUP : MDNS_IPV6_GROUP
  }

  /** Binds the socket and joins the group on the interface; rejects with {@link MdnsSocketError}. */
  open(): Promise<void> {
    const { port, iface } = this.#options
    const socket =
      this.family === 4
        ? createSocket({ type: 'udp4', reuseAddr: true })
        : createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true })
    // the decode step lives in multicast-dns: learn the sender of an undecodable datagram here
    let lastSender: RemoteInfo | undefined
    socket.prependListener('message', (_msg, rinfo) => {
      lastSender = rinfo
    })
    const mdns = makeMdns({
      socket,
      port,
      type: this.family === 4 ? 'udp4' : 'udp6',
      ip: this.group,
      interface: this.interfaceAddress,
      bind: this.family === 4 ? '0.0.0.0' : '::',
      loopback: true,
      ttl: 255,
    })
    this.#mdns = mdns
    mdns.on('packet', (packet: unknown, rinfo: RemoteInfo) => {
      if (!this.#closed) this.#options.onPacket(packet as DnsPacket, rinfo)
    })
    mdns.on('warning', (error: Error & { code?: string; syscall?: string }) => {
      if (this.#closed) return
      // multicast-dns reports undecodable datagrams as warnings; socket errors carry a syscall
      if (error.syscall === undefined) this.#options.onMalformed(error, lastSender)
      else this.#options.onWarning(error)
    })
    return new Promise((resolve, reject) => {
      let ready = false
      // one persistent listener: multicast-dns can emit the same bind error twice, and an
      // 'error' event without a listener would crash the process
      mdns.on('error', (error: Error) => {
        if (ready) {
          this.#options.onWarning(error)
          return
        }
        if (this.#closed) return
        void this.close()
        reject(new MdnsSocketError(iface.name, error.message, { cause: error }))
      })
      mdns.once('ready', () => {
        ready = true
        resolve()
      })
    })
  }

  /** Sends `packet` to the group (or to `destination`); never throws (problems go to `onWarning`). */
  send(packet: DnsPacket, destination?: Destination): Promise<void> {
    const mdns = this.#mdns
    if (mdns === undefined || this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      try {
        const rinfo = destination ? { address: destination.address, port: destination.port } : undefined
        const sender = mdns as unknown as MdnsSend
        sender.send(packet, rinfo, (error) => {
          if (error && !this.#closed) this.#options.onWarning(error)
          resolve()
        })
      } catch (error) {
        this.#options.onWarning(error as Error)
        resolve()
      }
    })
  }

  /** Leaves the group and closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.#closed || this.#mdns === undefined) {
      this.#closed = true
      return Promise.resolve()
    }
    this.#closed = true
    const mdns = this.#mdns
    return new Promise((resolve) => {
      try {
        mdns.destroy(() => resolve())
      } catch {
        resolve()
      }
    })
  }
}

/** A DNS question as multicast-dns (dns-packet) decodes and encodes it. */
export interface DnsQuestion {
  name: string
  type: string
  /** `IN`, or `UNKNOWN_32769` when the unicast-response bit is set. */
  class?: string | number | undefined
}

/** A DNS resource record as multicast-dns (dns-packet) decodes and encodes it. */
export interface DnsRecord {
  name: string
  type: string
  ttl?: number | undefined
  class?: string | undefined
  /** The mDNS cache-flush bit. */
  flush?: boolean | undefined
  data?: unknown
}

/** A DNS message as multicast-dns (dns-packet) decodes and encodes it. */
export interface DnsPacket {
  type?: 'query' | 'response' | undefined
  id?: number | undefined
  flags?: number | undefined
  questions?: DnsQuestion[] | undefined
  answers?: DnsRecord[] | undefined
  authorities?: DnsRecord[] | undefined
  additionals?: DnsRecord[] | undefined
}

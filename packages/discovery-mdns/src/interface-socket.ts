// One UDP socket for one interface and one IP family: joined to the mDNS group on that interface
// only, sending through that interface, bound to the mDNS port (source port 5353, as RFC 6762
// section 11 requires). Received datagrams go through a PacketIntake (link filter, rate limit,
// header check) before they are decoded; every socket callback handles its error.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { MdnsSocketError } from './errors.js'
import { type DropReason, PacketIntake } from './intake.js'
import { isOnLink, type MdnsInterface } from './interfaces.js'
import { type DnsPacket, encodePacket } from './wire.js'

export type { DnsPacket, DnsQuestion, DnsRecord } from './wire.js'

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
  /** Datagrams accepted per second from this link; more are dropped before decoding. Default 1000. */
  maxPacketsPerSecond?: number | undefined
  /** A decoded packet arrived from this interface's link. */
  onPacket(packet: DnsPacket, rinfo: RemoteInfo): void
  /** A datagram from this link could not be decoded. */
  onMalformed(error: Error, rinfo: RemoteInfo | undefined): void
  /** A datagram from this link was dropped before decoding (flood, or an implausible header). */
  onDrop?: ((reason: Exclude<DropReason, 'malformed'>, message: string | undefined) => void) | undefined
  /** A datagram was decoded (counted by tests of the drop-before-decode rule). */
  onDecoded?: (() => void) | undefined
  /** A non-fatal socket problem (membership, send). */
  onWarning(error: Error): void
}

/** A multicast UDP socket bound to one interface and family. */
export class InterfaceSocket {
  readonly iface: MdnsInterface
  readonly family: 4 | 6
  /** The address used to pick the interface (IPv4 address, or `::%name` for IPv6). */
  readonly interfaceAddress: string
  readonly #options: InterfaceSocketOptions
  readonly #intake: PacketIntake
  #socket: Socket | undefined
  #closed = false
  #membership = false
  #retry: NodeJS.Timeout | undefined

  constructor(options: InterfaceSocketOptions) {
    this.#options = options
    this.iface = options.iface
    this.family = options.family
    const v4 = options.iface.ipv4[0]
    if (options.family === 4 && v4 === undefined)
      throw new MdnsSocketError(options.iface.name, 'no IPv4 address')
    this.interfaceAddress = options.family === 4 ? v4!.address : `::%${options.iface.name}`
    this.#intake = new PacketIntake({
      maxPacketsPerSecond: options.maxPacketsPerSecond ?? 1000,
      onLink: (rinfo) => isOnLink(rinfo.address, options.iface),
      decode: undefined,
    })
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
    this.#socket = socket
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo))
    return new Promise((resolve, reject) => {
      let ready = false
      // one persistent listener: an 'error' event without a listener would crash the process
      socket.on('error', (error: Error) => {
        if (this.#closed) return
        if (ready) {
          this.#options.onWarning(error)
          return
        }
        void this.close()
        reject(new MdnsSocketError(iface.name, error.message, { cause: error }))
      })
      socket.bind(port, this.family === 4 ? '0.0.0.0' : '::', () => {
        if (this.#closed) {
          reject(new MdnsSocketError(iface.name, 'closed while opening'))
          return
        }
        try {
          socket.setMulticastTTL(255)
          socket.setMulticastLoopback(true)
          socket.setMulticastInterface(this.interfaceAddress)
        } catch (error) {
          void this.close()
          reject(new MdnsSocketError(iface.name, (error as Error).message, { cause: error }))
          return
        }
        this.#join()
        ready = true
        resolve()
      })
    })
  }

  /** Joins the group; retried every 5 s while it fails (an address that is not ready yet). */
  #join(): void {
    const socket = this.#socket
    if (socket === undefined || this.#closed || this.#membership) return
    try {
      socket.addMembership(this.group, this.interfaceAddress)
      this.#membership = true
    } catch (error) {
      this.#options.onWarning(error as Error)
      this.#retry = setTimeout(() => this.#join(), 5000)
      this.#retry.unref?.()
    }
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return
    const result = this.#intake.accept(msg, rinfo)
    if (result.ok) {
      this.#options.onDecoded?.()
      this.#options.onPacket(result.packet, rinfo)
    } else if (result.reason === 'malformed') {
      this.#options.onMalformed(new Error(result.message ?? 'malformed'), rinfo)
    } else if (result.reason !== 'off-link') {
      this.#options.onDrop?.(result.reason, result.message)
    }
  }

  /** Sends `packet` to the group (or to `destination`); never throws (problems go to `onWarning`). */
  send(packet: DnsPacket, destination?: Destination): Promise<void> {
    const socket = this.#socket
    if (socket === undefined || this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      try {
        const bytes = encodePacket(packet)
        const address = destination?.address ?? this.group
        socket.send(bytes, destination?.port ?? this.#options.port, address, (error) => {
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
    clearTimeout(this.#retry)
    const socket = this.#socket
    if (this.#closed || socket === undefined) {
      this.#closed = true
      return Promise.resolve()
    }
    this.#closed = true
    return new Promise((resolve) => {
      try {
        if (this.#membership) socket.dropMembership(this.group, this.interfaceAddress)
      } catch {
        // the interface may be gone already: closing the socket drops the membership anyway
      }
      try {
        socket.close(() => resolve())
      } catch {
        resolve()
      }
    })
  }
}

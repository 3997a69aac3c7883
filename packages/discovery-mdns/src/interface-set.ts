// The set of interfaces mDNS runs on and their sockets (one per interface and IP family):
// re-read on every poll, sockets opened for new interfaces and closed for changed or removed
// ones, one sync at a time. A socket that fails to open is reported once and retried on the
// next poll.

import type { RemoteInfo } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { SerialLock } from '@peer/discovery-core/internal'
import { type MdnsContext, newSocketState, type SocketState } from './context.js'
import { InterfaceSocket } from './interface-socket.js'
import {
  type InterfaceFilter,
  type InterfaceSource,
  interfaceFingerprint,
  type MdnsInterface,
  selectInterfaces,
} from './interfaces.js'
import type { DnsPacket } from './wire.js'

/** What the interface set tells the backend. */
export interface InterfaceSetEvents {
  /** A decoded packet from a socket's link. */
  packet(s: SocketState, packet: DnsPacket, rinfo: RemoteInfo): void
  /** A socket opened. */
  opened(s: SocketState): void
  /** An interface changed (its old socket is still open): say goodbye to what it lost. */
  changing(old: MdnsInterface, now: MdnsInterface, s: SocketState): Promise<void>
  /** An interface went away. */
  removed(name: string): void
  /** Interfaces whose sockets (re)opened in this sync. */
  changed(ifaces: MdnsInterface[]): void
}

/** Options of the {@link InterfaceSet}. */
export interface InterfaceSetOptions {
  filter: InterfaceFilter
  source: InterfaceSource | undefined
  maxPacketsPerSecond: number
}

/** Interfaces in use and their sockets. */
export class InterfaceSet {
  readonly sockets = new Map<string, SocketState>()
  readonly interfaces = new Map<string, MdnsInterface>()
  readonly #ctx: MdnsContext
  readonly #options: InterfaceSetOptions
  readonly #events: InterfaceSetEvents
  /** Interfaces whose socket failed to open (reported once until one opens; bounded). */
  readonly #failing = new Set<string>()
  readonly #lock = new SerialLock()
  /** "No interface to use" was logged, and none has appeared since. */
  #saidNone = false

  constructor(ctx: MdnsContext, options: InterfaceSetOptions, events: InterfaceSetEvents) {
    this.#ctx = ctx
    this.#options = options
    this.#events = events
  }

  /** Re-reads the interfaces and opens/closes sockets; `live()` false makes it give up. */
  sync(live: () => boolean): Promise<void> {
    return this.#lock.run(() => this.#sync(live))
  }

  /** Closes every socket. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.sockets.values()].map((s) => {
        clearTimeout(s.queryTimer)
        return s.socket.close()
      }),
    )
    this.sockets.clear()
    this.interfaces.clear()
  }

  async #sync(live: () => boolean): Promise<void> {
    if (!live()) return
    const { filter, source } = this.#options
    const wanted = new Map(selectInterfaces(filter, source).map((i) => [i.name, i]))
    if (wanted.size > 0) this.#saidNone = false
    else if (!this.#saidNone) {
      // nothing to send or listen on: say so once (an allow list naming no interface here?)
      this.#saidNone = true
      this.#ctx.log.warn(
        'no network interface to use: nothing is announced or discovered until one appears',
        {
          allow: filter.allow?.map(String),
          deny: filter.deny?.map(String),
          ipv4: filter.ipv4,
          ipv6: filter.ipv6,
          interfaces: Object.keys((source ?? networkInterfaces)()).slice(0, 16),
        },
      )
    }
    const useV6 = filter.ipv6 ?? true
    const changed: MdnsInterface[] = []
    // interfaces that went away or changed
    for (const [name, old] of this.interfaces) {
      const now = wanted.get(name)
      if (now !== undefined && interfaceFingerprint(now) === interfaceFingerprint(old)) continue
      for (const family of [4, 6] as const) {
        const key = `${name}/${family}`
        const s = this.sockets.get(key)
        if (s === undefined) continue
        if (now !== undefined) await this.#events.changing(old, now, s)
        if (!live()) return
        this.sockets.delete(key)
        clearTimeout(s.queryTimer)
        await s.socket.close()
      }
      if (!live()) return
      this.interfaces.delete(name)
      if (now === undefined) this.#events.removed(name)
    }
    for (const [name, iface] of wanted) {
      if (this.interfaces.has(name) || !live()) continue
      this.interfaces.set(name, iface)
      const families: Array<4 | 6> = []
      if (iface.ipv4.length > 0) families.push(4)
      if (useV6 && !iface.loopback && iface.ipv6.length > 0) families.push(6)
      for (const family of families) {
        const opened = await this.#open(name, iface, family, live)
        if (opened === 'stop') return
      }
      // nothing opened: forget the interface so that the next poll retries it
      if (![...this.sockets.values()].some((x) => x.socket.iface.name === name)) {
        this.interfaces.delete(name)
        continue
      }
      changed.push(iface)
    }
    if (changed.length > 0) this.#events.changed(changed)
  }

  async #open(name: string, iface: MdnsInterface, family: 4 | 6, live: () => boolean) {
    const key = `${name}/${family}`
    const stats = this.#ctx.stats
    const socket = new InterfaceSocket({
      iface,
      family,
      port: this.#ctx.port,
      maxPacketsPerSecond: this.#options.maxPacketsPerSecond,
      onPacket: (packet, rinfo) => {
        const s = this.sockets.get(key)
        if (s !== undefined && this.#ctx.running()) this.#events.packet(s, packet, rinfo)
      },
      onDecoded: () => {
        stats.packetsDecoded++
      },
      onMalformed: (error) => {
        stats.malformedPackets++
        this.#ctx.countInvalid(`malformed packet: ${error.message}`)
      },
      onDrop: (reason, message) => {
        if (reason === 'flood') {
          stats.floodDrops++
          return
        }
        stats.implausiblePackets++
        stats.malformedPackets++
        this.#ctx.countInvalid(`malformed packet: ${message}`)
      },
      onWarning: (error) => this.#ctx.log.debug('socket warning', { iface: name, error: error.message }),
    })
    try {
      await socket.open()
    } catch (error) {
      // reported once per interface until a socket opens; the next poll tries again
      if (!this.#failing.has(name)) this.#ctx.reportError(error)
      this.#failing.add(name)
      if (this.#failing.size > 256) this.#failing.clear()
      return 'failed'
    }
    this.#failing.delete(name)
    if (!live()) {
      await socket.close()
      return 'stop'
    }
    const state = newSocketState(key, socket)
    this.sockets.set(key, state)
    this.#events.opened(state)
    return 'opened'
  }
}

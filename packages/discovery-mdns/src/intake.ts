// The receive path of one interface socket, in the order that keeps an attacker's cost above
// ours: (1) off-link senders are ignored, (2) the per-interface rate limit (a token bucket) drops
// floods, (3) the header's section counts are checked against the datagram size, and only then
// (4) the datagram is decoded. Steps 1-3 look at no more than 12 bytes and allocate nothing.
import type { RemoteInfo } from 'node:dgram'
import { errorMessage } from '@peer/discovery-core/internal'
import { checkHeader, type DnsPacket, decodePacket } from './wire.js'

/** Why a datagram was dropped. */
export type DropReason = 'flood' | 'implausible' | 'malformed'

/** Options of {@link PacketIntake}. */
export interface PacketIntakeOptions {
  /** Datagrams accepted per second (burst of the same size); more are dropped. */
  maxPacketsPerSecond: number
  /** True when the sender is on this socket's link (others are ignored without counting). */
  onLink(rinfo: RemoteInfo): boolean
  /** The decoder (tests count its calls). Default {@link decodePacket}. */
  decode?: ((buf: Uint8Array) => DnsPacket) | undefined
  /** Current time, ms. Default `Date.now`. */
  now?: (() => number) | undefined
}

/** What {@link PacketIntake.accept} decided. */
export type IntakeResult =
  | { ok: true; packet: DnsPacket }
  | { ok: false; reason: DropReason | 'off-link'; message?: string }

/** Rate limit, header check and decode of received datagrams; never throws. */
export class PacketIntake {
  readonly #rate: number
  readonly #onLink: (rinfo: RemoteInfo) => boolean
  readonly #decode: (buf: Uint8Array) => DnsPacket
  readonly #now: () => number
  #tokens: number
  #lastRefill: number

  constructor(options: PacketIntakeOptions) {
    this.#rate = options.maxPacketsPerSecond
    this.#onLink = options.onLink
    this.#decode = options.decode ?? decodePacket
    this.#now = options.now ?? Date.now
    this.#tokens = this.#rate
    this.#lastRefill = this.#now()
  }

  /** Decides about one datagram. */
  accept(buf: Uint8Array, rinfo: RemoteInfo): IntakeResult {
    if (!this.#onLink(rinfo)) return { ok: false, reason: 'off-link' }
    const now = this.#now()
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#lastRefill) / 1000) * this.#rate)
    this.#lastRefill = now
    if (this.#tokens < 1) return { ok: false, reason: 'flood' }
    this.#tokens--
    const problem = checkHeader(buf)
    if (problem !== undefined) return { ok: false, reason: 'implausible', message: problem }
    try {
      return { ok: true, packet: this.#decode(buf) }
    } catch (error) {
      return { ok: false, reason: 'malformed', message: errorMessage(error) }
    }
  }
}

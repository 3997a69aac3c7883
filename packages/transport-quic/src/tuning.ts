import { isLoopbackHostOrName, numberOption } from '@peer/discovery-core/internal'
import { TransportConfigError } from './errors.js'
import type { TransportTuning } from './types.js'

/** Every tuning field, resolved. */
export type ResolvedTuning = Required<TransportTuning>

/** Which kind of path a host is on: `loopback` (127.0.0.0/8, ::1, localhost) or `network`. */
export type PathKind = 'loopback' | 'network'

/** Classifies a host for {@link tuningFor}. */
export function pathKind(host: string): PathKind {
  return isLoopbackHostOrName(host) ? 'loopback' : 'network'
}

const MiB = 1024 * 1024

/** Defaults per path kind. Loopback has a 64 KiB MTU, so large UDP payloads never fragment there. */
export const DEFAULT_TUNING: Record<PathKind, ResolvedTuning> = {
  loopback: {
    maxIdleTimeoutMs: 30_000,
    keepAliveIntervalMs: 5_000,
    connectTimeoutMs: 10_000,
    maxStreams: 256,
    maxSendUdpPayloadSize: 65_000,
    maxRecvUdpPayloadSize: 65_527,
    readChunkSize: 256 * 1024,
    initialMaxData: 16 * MiB,
    initialMaxStreamData: 4 * MiB,
    maxConnectionWindow: 64 * MiB,
    maxStreamWindow: 16 * MiB,
    socketBufferSize: 4 * MiB,
  },
  network: {
    maxIdleTimeoutMs: 30_000,
    keepAliveIntervalMs: 5_000,
    connectTimeoutMs: 10_000,
    maxStreams: 256,
    // fits a 1,500-byte Ethernet MTU with IPv6 and tunnel headers to spare
    maxSendUdpPayloadSize: 1_350,
    maxRecvUdpPayloadSize: 65_527,
    // as on loopback: quinn's reads only grow this far while they come back full (bulk), and across
    // a veth pair with MTU 1500 the cap of 64 KiB cost 22% of the bulk rate and 11% of the rate of
    // 1 MiB messages (interleaved runs, docs/benchmarks/transport.md); @matrixai allocates it per stream
    // but only touches what it receives
    readChunkSize: 256 * 1024,
    initialMaxData: 8 * MiB,
    initialMaxStreamData: 2 * MiB,
    maxConnectionWindow: 24 * MiB,
    maxStreamWindow: 16 * MiB,
    socketBufferSize: 4 * MiB,
  },
}

/** Lower bounds above 0 (QUIC's minimum datagram size; at least one stream). */
const MIN: Partial<Record<keyof ResolvedTuning, number>> = { maxSendUdpPayloadSize: 1200, maxStreams: 1 }

/**
 * The tuning used for a path: the defaults for `host`'s path kind, overridden by every field
 * the caller set. A listener bound to a wildcard address (`0.0.0.0`, `::`) uses the `network`
 * defaults, since it may serve any path. An invalid field throws `TransportConfigError`.
 */
export function tuningFor(host: string, overrides: TransportTuning = {}): ResolvedTuning {
  const base = DEFAULT_TUNING[pathKind(host)]
  const out = { ...base }
  for (const key of Object.keys(base) as Array<keyof ResolvedTuning>) {
    // durations (`...Ms`) are bounded by the shared rule: at most 2^31 - 1 ms, what a timer holds
    out[key] = numberOption(overrides[key], key, base[key], { min: MIN[key] ?? 0 }, TransportConfigError)
  }
  return out
}

import { isIP } from 'node:net'
import type { TransportTuning } from './types.js'

/** Every tuning field, resolved. */
export type ResolvedTuning = Required<TransportTuning>

/** Which kind of path a host is on: `loopback` (127.0.0.0/8, ::1, localhost) or `network`. */
export type PathKind = 'loopback' | 'network'

/** Classifies a host for {@link tuningFor}. */
export function pathKind(host: string): PathKind {
  const h = host.toLowerCase()
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return 'loopback'
  if (isIP(h) === 4 && h.startsWith('127.')) return 'loopback'
  if (h.startsWith('::ffff:127.')) return 'loopback'
  return 'network'
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
    readChunkSize: 64 * 1024,
    initialMaxData: 8 * MiB,
    initialMaxStreamData: 2 * MiB,
    maxConnectionWindow: 24 * MiB,
    maxStreamWindow: 16 * MiB,
    socketBufferSize: 4 * MiB,
  },
}

/**
 * The tuning used for a path: the defaults for `host`'s path kind, overridden by every field
 * the caller set. A listener bound to a wildcard address (`0.0.0.0`, `::`) uses the `network`
 * defaults, since it may serve any path.
 */
export function tuningFor(host: string, overrides: TransportTuning = {}): ResolvedTuning {
  const base = DEFAULT_TUNING[pathKind(host)]
  const out = { ...base }
  for (const key of Object.keys(base) as Array<keyof ResolvedTuning>) {
    const value = overrides[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${key} must be a non-negative number, got ${String(value)}`)
    }
    out[key] = value
  }
  if (out.maxSendUdpPayloadSize < 1200) throw new RangeError('maxSendUdpPayloadSize must be at least 1200')
  if (out.maxStreams < 1) throw new RangeError('maxStreams must be at least 1')
  return out
}

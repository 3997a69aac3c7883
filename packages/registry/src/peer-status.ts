import type { PeerAddress } from '@peer/discovery-core'
import type { ConnectionDirection } from './interfaces.js'

/**
 * Where a peer stands:
 * - `idle`: known but nothing to do (no address to dial, waiting for the registry to start, or
 *   dialed only when used: an `on-demand` member, a released connection, a dial refused over
 *   `maxConnections`);
 * - `queued`: waiting for a free dial slot;
 * - `dialing`: a dial is in flight;
 * - `backoff`: the last dial failed or the connection dropped; a redial is scheduled;
 * - `connected`: one live connection;
 * - `departed`: it closed its connection saying `shutdown`; not redialed until discovery reports
 *   it again, it connects to us, or `departedHoldMs` passes.
 */
export type PeerState = 'idle' | 'queued' | 'dialing' | 'backoff' | 'connected' | 'departed'

/** One address of a peer, with where it came from. */
export interface PeerAddressStatus extends PeerAddress {
  /** The discovery sources that reported it (`static`, `mdns`, ...). */
  readonly sources: readonly string[]
  /** When a dial to it last succeeded (ms since the epoch). */
  readonly lastConnectedAt?: number | undefined
  /** Why the last dial to it failed, if it did. */
  readonly lastError?: string | undefined
}

/** A snapshot of one peer, as `PeerRegistry.status` returns it. */
export interface PeerStatus {
  /** The peer's node id. */
  readonly id: string
  /**
   * The peer's name as discovery last reported it; `undefined` when no record carried one (an
   * inbound-only peer, say).
   */
  readonly name?: string | undefined
  /** Where the peer stands (see {@link PeerState}). */
  readonly state: PeerState
  /** True while discovery reports the peer (false after `peer:lost`, or for an inbound-only peer). */
  readonly discovered: boolean
  /** Addresses to dial, most preferred first: hints from discovery, never proof of identity. */
  readonly addresses: readonly PeerAddressStatus[]
  /** Last time discovery or a connection showed the peer (ms since the epoch). */
  readonly lastSeen: number
  /** Who opened the live connection. */
  readonly direction?: ConnectionDirection | undefined
  /** The live connection's remote address. */
  readonly remoteAddress?: PeerAddress | undefined
  /** When the live connection was adopted (ms since the epoch). */
  readonly connectedAt?: number | undefined
  /** The live connection's round-trip time in ms, when the transport measures it. */
  readonly rtt?: number | undefined
  /** Failed dials since the last successful connection. */
  readonly dialAttempts: number
  /** Every dial started for this peer. */
  readonly totalDials: number
  /** When the next dial is due, in ms since the epoch (state `backoff`, or `departed`: at the latest). */
  readonly nextDialAt?: number | undefined
  /** The last dial error or disconnect reason. */
  readonly lastError?: string | undefined
  /**
   * Why the last dial failed (the `error` of its `peer:dial-failed`), until a connection is adopted;
   * unlike `lastError`, never a disconnect reason.
   */
  readonly lastDialError?: string | undefined
}

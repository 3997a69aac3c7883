// The per-peer state the PeerRegistry keeps, and its public snapshot.

import type { AddressEntry } from './address-book.js'
import { readRtt } from './connections.js'
import type { ReplacementTimes } from './id-conflict.js'
import type { ConnectionDirection, RegistryConnection } from './interfaces.js'
import type { PeerState, PeerStatus } from './peer-status.js'

/** What the registry knows of one peer. @internal */
export interface PeerEntry<C extends RegistryConnection> {
  readonly id: string
  name: string | undefined
  state: PeerState
  discovered: boolean
  addresses: AddressEntry[]
  lastSeen: number
  connection: C | undefined
  direction: ConnectionDirection | undefined
  connectedAt: number | undefined
  dialAttempts: number
  totalDials: number
  backoffLevel: number
  dial: AbortController | undefined
  /** When our dial's current attempt started (`Date.now()`), while one runs. */
  attemptAt: number | undefined
  /**
   * The current attempt has committed (RegistryDialOptions.onCommit): it is never given up for an
   * inbound.
   */
  attemptCommitted: boolean
  timer: ReturnType<typeof setTimeout> | undefined
  nextDialAt: number | undefined
  lastError: string | undefined
  /** Why the last dial failed, until a connection is adopted (`lastError` also holds disconnects). */
  lastDialError: string | undefined
  /** Set when the connection was lost to an idle timeout or error; cleared on connect. */
  lostAt: number | undefined
  /**
   * The round-trip time of the last connection to the peer when it closed (ms; 0 when the
   * transport reports none), kept across reconnections; undefined until one closed. Dials of a
   * peer with a known path probe (see `DialScheduler.probeFor`).
   */
  pathRtt: number | undefined
  /** True while {@link PeerRegistry.probeStalled} runs for this peer. */
  stallProbe?: boolean
  /** Its last connection was released (idle, evicted, refused over the cap): not redialed by itself. */
  released?: boolean
  /** Our dial's connection was refused over the cap: the dial ends without a redial. */
  capRefused?: boolean
  /** When its recent inbound connections were replaced by inbound ones (id conflict detection). */
  replacements?: ReplacementTimes | undefined
  /** The id conflict of this peer was logged already (once per entry). */
  conflictWarned?: boolean
}

/** A fresh entry for `id`. @internal */
export function newPeerEntry<C extends RegistryConnection>(id: string): PeerEntry<C> {
  return {
    id,
    name: undefined,
    state: 'idle',
    discovered: false,
    addresses: [],
    lastSeen: Date.now(),
    connection: undefined,
    direction: undefined,
    connectedAt: undefined,
    dialAttempts: 0,
    totalDials: 0,
    backoffLevel: 0,
    dial: undefined,
    attemptCommitted: false,
    attemptAt: undefined,
    timer: undefined,
    nextDialAt: undefined,
    lastError: undefined,
    lastDialError: undefined,
    lostAt: undefined,
    pathRtt: undefined,
  }
}

/** A frozen public snapshot of `entry`. @internal */
export function snapshotOf<C extends RegistryConnection>(entry: PeerEntry<C>): PeerStatus {
  const conn = entry.connection
  return Object.freeze({
    id: entry.id,
    name: entry.name,
    state: entry.state,
    discovered: entry.discovered,
    addresses: Object.freeze(entry.addresses.map((a) => Object.freeze({ ...a, sources: [...a.sources] }))),
    lastSeen: entry.lastSeen,
    direction: entry.direction,
    remoteAddress: conn?.remoteAddress,
    connectedAt: entry.connectedAt,
    rtt: readRtt(conn),
    dialAttempts: entry.dialAttempts,
    totalDials: entry.totalDials,
    nextDialAt: entry.nextDialAt,
    lastError: entry.lastError,
    lastDialError: entry.lastDialError,
  })
}

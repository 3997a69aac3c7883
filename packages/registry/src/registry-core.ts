// The state a PeerRegistry shares with its components (connections, dials): explicit, in one
// object, instead of the registry's private fields.

import type { Logger } from '@peer/discovery-core'
import type { ConnectWaiters } from './connect-waiters.js'
import type { DialContext } from './dial-one.js'
import type { DialScheduler } from './dial-scheduler.js'
import type { RegistryConnection } from './interfaces.js'
import type { PeerEntry } from './peer-entry.js'
import type { DisconnectReason, PeerRegistryEvents, PeerRegistryStats } from './peer-events.js'
import type { RegistryConfig } from './registry-config.js'

/** The registry's counters (its stats but the listener errors). @internal */
export type RegistryCounters = Omit<PeerRegistryStats, 'listenerErrors'>

/** Emits one of the registry's events. @internal */
export type RegistryEmit = <K extends keyof PeerRegistryEvents & string>(
  type: K,
  detail: PeerRegistryEvents[K] extends CustomEvent<infer D> ? D : never,
) => void

/** The registry's shared state and the operations its components call back. @internal */
export interface RegistryCore<C extends RegistryConnection> {
  readonly self: string
  readonly cfg: RegistryConfig<C>
  readonly log: Logger
  readonly stats: RegistryCounters
  readonly peers: Map<string, PeerEntry<C>>
  readonly waiters: ConnectWaiters<C>
  readonly dials: DialScheduler<C>
  readonly dialContext: DialContext<C>
  /** True while the registry is started. */
  started(): boolean
  /** The signal aborted when the registry stops dialing. */
  lifetime(): AbortSignal
  isTrusted(id: string): boolean
  /** Removes a peer: cancels its dial and timer, closes its connection (emitting `peer:disconnected`). */
  forget(entry: PeerEntry<C>, reason: DisconnectReason): void
  emit: RegistryEmit
}

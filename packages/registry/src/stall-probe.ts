// PeerRegistry.probeStalled's dialing loop: fresh dials to a peer whose live connection looks
// stalled, one probing attempt at a time, until one replaces the stalled connection.

import { delay, type Logger, shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { type AddressEntry, dialOrder } from './address-book.js'
import { safeClose } from './connections.js'
import type { RegistryConnection } from './interfaces.js'
import type { PeerEntry } from './peer-entry.js'

/** What the stall probe uses of the registry. @internal */
export interface StallProbeContext<C extends RegistryConnection> {
  readonly log: Logger
  readonly stats: { stallReplacements: number }
  /** True while the registry is started and `entry` is still its entry for the peer. */
  isCurrent(entry: PeerEntry<C>): boolean
  dialOne(id: string, address: AddressEntry, signal: AbortSignal, probeMs: number): Promise<C>
  adopt(entry: PeerEntry<C>, conn: C): boolean
  /** Installs `conn` as the replacement of `previous`. */
  replace(entry: PeerEntry<C>, conn: C, previous: C): void
}

/** Dials `entry` afresh while `stalled` is its connection; true when a new one replaced it. @internal */
export async function runStallProbe<C extends RegistryConnection>(
  ctx: StallProbeContext<C>,
  entry: PeerEntry<C>,
  stalled: C,
  signal: AbortSignal,
  attemptMs: number,
): Promise<boolean> {
  const id = entry.id
  // the stalled connection closing does not cut a dial in flight: the peer closes it when our
  // probe reaches it (it moves to the new connection), and the probe must still be adopted
  let gone = false
  const onGone = () => {
    gone = true
  }
  Promise.resolve(stalled.closed).then(onGone, onGone)
  const current = () => !signal.aborted && !gone && ctx.isCurrent(entry) && entry.connection === stalled
  while (current()) {
    const round = performance.now()
    for (const address of dialOrder(entry.addresses)) {
      if (!current()) return false
      let conn: C
      try {
        conn = await ctx.dialOne(id, address, signal, attemptMs)
      } catch (error) {
        ctx.log.debug('stall probe failed', {
          id: shortId(id),
          address: `${address.host}:${address.port}`,
          error: errorMessage(error),
        })
        continue
      }
      const live = entry.connection
      if (signal.aborted || !ctx.isCurrent(entry) || (live !== stalled && live !== undefined)) {
        safeClose(conn, 'duplicate', ctx.log)
        return false
      }
      address.lastError = undefined
      address.lastConnectedAt = Date.now()
      ctx.stats.stallReplacements++
      ctx.log.info('stalled connection replaced by a fresh one', { id: shortId(id) })
      if (live === undefined) return ctx.adopt(entry, conn)
      ctx.replace(entry, conn, stalled)
      safeClose(stalled, 'stalled', ctx.log)
      return true
    }
    // every address failed: when they refused at once, wait one attempt's length before the next round
    if (performance.now() - round < attemptMs) await delay(attemptMs, signal).catch(() => {})
  }
  return false
}

// One dial of a peer by the PeerRegistry: its addresses (address-race.ts), then the adoption of the
// connection, or the failure's consequences (waiters failed, redial, idle or forgotten).

import { formatHostPort, shortId } from '@peer/discovery-core'
import { linkSignals } from '@peer/discovery-core/internal'
import { dialOrder } from './address-book.js'
import { raceAddresses } from './address-race.js'
import { RegistryError } from './errors.js'
import type { RegistryConnection } from './interfaces.js'
import type { PeerEntry } from './peer-entry.js'
import type { RegistryCore } from './registry-core.js'

/**
 * Dials `entry` on its addresses, best first (staggered, see address-race.ts), and adopts the
 * first connection; after a failure, fails its waiters and redials it later, leaves it idle
 * (on-demand) or forgets it (lost). @internal
 */
export async function dialPeer<C extends RegistryConnection>(
  core: RegistryCore<C>,
  entry: PeerEntry<C>,
  adopt: (entry: PeerEntry<C>, conn: C) => boolean,
): Promise<void> {
  const controller = new AbortController()
  entry.dial = controller
  entry.state = 'dialing'
  entry.totalDials++
  core.stats.dials++
  const linked = linkSignals([controller.signal, core.lifetime()])
  const signal = linked.signal
  // addresses that worked before go first; the rest keep discovery's order
  const addresses = dialOrder(entry.addresses)
  let lastError: Error | undefined
  // each address's error, in dial order: several make one AggregateError that names them all
  const failures: Array<{ error: Error; line: string }> = []
  let connected = false
  // how old the attempt in flight is, and whether it committed, decide a tie with an inbound
  // connection (peer-connections.ts)
  const progress = {
    onAttempt: () => {
      if (entry.dial !== controller) return
      entry.attemptAt = Date.now()
      entry.attemptCommitted = false
    },
    onCommit: () => {
      if (entry.dial === controller) entry.attemptCommitted = true
    },
  }
  // each failure is recorded as it happens (`status()` shows it during a long dial)
  const result = await raceAddresses(
    core.dialContext,
    entry.id,
    addresses,
    signal,
    core.dials.probeFor(entry),
    progress,
    core.dialContext.transport.reportsDialCommit === true,
    ({ address, error }) => {
      lastError = error
      address.lastError = error.message
      failures.push({ error, line: namingAddress(error, address) })
      core.log.debug('dial failed', {
        id: shortId(entry.id),
        address: `${address.host}:${address.port}`,
        error: error.message,
      })
    },
  )
  if ('address' in result) {
    result.address.lastError = undefined
    result.address.lastConnectedAt = Date.now()
    entry.dial = undefined
    connected = adopt(entry, result.conn)
  }
  linked.release()
  if (entry.dial === controller || entry.dial === undefined) {
    entry.attemptAt = undefined
    entry.attemptCommitted = false
  }
  if (entry.dial === controller) entry.dial = undefined
  if (connected || entry.connection !== undefined) return
  if (entry.capRefused === true) {
    entry.capRefused = false
    return
  }
  if (core.peers.get(entry.id) !== entry || !core.started()) return
  if (controller.signal.aborted && entry.state !== 'dialing') return
  const failure =
    failures.length > 1
      ? new AggregateError(
          failures.map((f) => f.error),
          `all ${failures.length} addresses failed: ${failures.map((f) => f.line).join('; ')}`,
        )
      : (lastError ?? new RegistryError('no address to dial'))
  entry.dialAttempts++
  entry.lastError = failure.message
  entry.lastDialError = failure.message
  core.stats.dialFailures++
  core.waiters.reject(entry.id, failure)
  if (core.cfg.onDemand && entry.discovered) {
    // no redial by itself: the next use dials again
    entry.state = 'idle'
    core.emit('peer:dial-failed', { id: entry.id, attempt: entry.dialAttempts, error: failure })
    return
  }
  if (!entry.discovered) {
    // lost and not reachable: stop trying
    core.emit('peer:dial-failed', { id: entry.id, attempt: entry.dialAttempts, error: failure })
    core.forget(entry, 'lost')
    return
  }
  const retryIn = core.dials.scheduleRedial(entry)
  core.emit('peer:dial-failed', { id: entry.id, attempt: entry.dialAttempts, error: failure, retryIn })
}

// an address's part of an aggregate's message: its error, naming the address when the error does
// not already (a pinning or trust refusal says which node, not where)
function namingAddress(error: Error, address: { host: string; port: number }): string {
  if (error.message.includes(address.host)) return error.message
  return `${formatHostPort(address.host, address.port)}: ${error.message}`
}

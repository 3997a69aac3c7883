// The live connections of the PeerRegistry's peers: adoption (arbitration of simultaneous dials,
// the connection cap and idle eviction), installation, release, and what follows a close.

import { shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { arbitrate } from './arbitration.js'
import { type CloseKind, closeKind, readRtt, reasonOf, safeClose } from './connections.js'
import { ConnectionCapError, RegistryError } from './errors.js'
import { judgeReplacement, type ReplacementEnd, replacementAddresses } from './id-conflict.js'
import type { ConnectionDirection, RegistryConnection } from './interfaces.js'
import type { PeerEntry } from './peer-entry.js'
import type { RegistryCore } from './registry-core.js'

/**
 * An attempt of our own dial running this long (or 4 round trips of the arriving connection, if
 * longer) that has not committed no longer wins a tie against an inbound connection: a handshake
 * that has not completed by then waits on retransmissions (the peer was down when it started, e.g.
 * it restarted, or our path to it is down), while the inbound proves the peer is up and reaches
 * us. Without this, a restarted peer waited for our stale attempt's next retransmission (1 to 6 s
 * in the demo). A committed attempt always wins (the remote may hold it already: when both sides
 * dial at once under load, an attempt can be 250 ms old and done on the remote's side, and giving
 * it up left each side with the other's connection, both then closed); so does any attempt over a
 * transport that does not report commits.
 */
const STALE_DIAL_MIN_MS = 250

function staleDialMs(conn: RegistryConnection): number {
  return Math.max(STALE_DIAL_MIN_MS, 4 * (readRtt(conn) ?? 0))
}

/** The connections of the registry's peers. @internal */
export class PeerConnections<C extends RegistryConnection> {
  readonly #c: RegistryCore<C>

  constructor(core: RegistryCore<C>) {
    this.#c = core
  }

  /** See PeerRegistry.release. */
  release(id: string, reason: 'idle' | 'evicted'): boolean {
    const entry = this.#c.peers.get(id)
    const conn = entry?.connection
    if (entry === undefined || conn === undefined) return false
    const direction = this.#detach(entry, conn, reason)
    entry.released = true
    this.#c.stats.released++
    this.#c.log.info('connection released', { id: shortId(id), reason })
    safeClose(conn, reason, this.#c.log)
    this.#c.emit('peer:disconnected', { id, reason, direction })
    return true
  }

  /**
   * Makes `conn` the peer's connection, or closes it. With no live connection it is adopted, except
   * an inbound one arriving while our own dial is in flight and ours wins the tie (not when that
   * dial's attempt is stale: see STALE_DIAL_MIN_MS). With a live one:
   * an outbound arrival, or an inbound within the simultaneous window, keeps the connection dialed
   * by the lower id; a later inbound replaces the live one.
   */
  adopt(entry: PeerEntry<C>, conn: C, direction: ConnectionDirection): boolean {
    if (!this.#c.started() || this.#c.peers.get(entry.id) !== entry || !this.#c.isTrusted(entry.id)) {
      safeClose(conn, !this.#c.started() ? 'shutdown' : 'untrusted', this.#c.log)
      return false
    }
    const existing = entry.connection
    if (existing === conn) return true
    const now = Date.now()
    const dialInFlight = entry.dial !== undefined
    // an inbound while our own dial runs: how old its attempt is decides the tie (see STALE_DIAL_MIN_MS)
    const tie = existing === undefined && direction === 'inbound' && dialInFlight
    const verdict = arbitrate({
      self: this.#c.self,
      remote: entry.id,
      direction,
      dialInFlight,
      ...(tie
        ? {
            dialAgeMs: now - (entry.attemptAt ?? now),
            staleDialMs: staleDialMs(conn),
            dialCommitted:
              this.#c.dialContext.transport.reportsDialCommit === true ? entry.attemptCommitted : undefined,
          }
        : {}),
      existing:
        existing === undefined ? undefined : { direction: entry.direction, connectedAt: entry.connectedAt },
      now,
      windowMs: this.#c.cfg.window,
    })
    if (verdict === 'dial-wins') {
      this.#duplicate(entry, conn, 'inbound while our dial wins')
      return false
    }
    if (existing === undefined) {
      if (!this.roomFor(entry)) {
        this.#refuseOverCap(entry, conn, direction)
        return false
      }
      if (direction === 'inbound' && entry.dial !== undefined) {
        this.#c.log.debug('inbound connection supersedes our dial', {
          id: shortId(entry.id),
          attemptMs: entry.attemptAt === undefined ? undefined : now - entry.attemptAt,
        })
        entry.dial.abort(new RegistryError('dial superseded by the remote'))
        entry.dial = undefined
      }
      this.install(entry, conn, direction, undefined)
      return true
    }
    if (verdict === 'duplicate') {
      this.#duplicate(entry, conn, 'duplicate')
      return false
    }
    this.install(entry, conn, direction, existing)
    this.#duplicate(entry, existing, 'duplicate')
    return true
  }

  /**
   * True when one more connection fits under `maxConnections`, after closing the idle connection
   * `evictIdle` names when it would not.
   */
  roomFor(entry: PeerEntry<C>): boolean {
    if (this.#c.cfg.maxConnections === Infinity || this.#connectedCount() < this.#c.cfg.maxConnections)
      return true
    let victim: string | undefined
    try {
      victim = this.#c.cfg.evictIdle?.()
    } catch (error) {
      this.#c.log.warn('evictIdle threw; nothing evicted', { error: errorMessage(error) })
    }
    if (victim === undefined || victim === entry.id || !this.release(victim, 'evicted')) return false
    this.#c.stats.evictions++
    return this.#connectedCount() < this.#c.cfg.maxConnections
  }

  #connectedCount(): number {
    let count = 0
    for (const entry of this.#c.peers.values()) if (entry.connection !== undefined) count++
    return count
  }

  /** Closes a new connection over the cap: counted when inbound; fails the dial's waiters when ours. */
  #refuseOverCap(entry: PeerEntry<C>, conn: C, direction: ConnectionDirection): void {
    safeClose(conn, 'connection cap', this.#c.log)
    const error = new ConnectionCapError(this.#c.cfg.maxConnections)
    if (direction === 'inbound') {
      this.#c.stats.refusedOverCap++
      this.#c.log.info('inbound connection refused: connection cap reached', { id: shortId(entry.id) })
    } else {
      entry.capRefused = true
      entry.state = 'idle'
      entry.released = true
      entry.lastError = error.message
    }
    this.#c.waiters.reject(entry.id, error)
  }

  #duplicate(entry: PeerEntry<C>, conn: C, why: string): void {
    this.#c.stats.duplicatesClosed++
    this.#c.log.debug('closing a duplicate connection', { id: shortId(entry.id), why })
    safeClose(conn, 'duplicate', this.#c.log)
  }

  install(entry: PeerEntry<C>, conn: C, direction: ConnectionDirection, previous: C | undefined): void {
    const previousDirection = entry.direction
    this.#c.dials.clearTimer(entry)
    this.#c.dials.dequeue(entry.id)
    entry.connection = conn
    entry.direction = direction
    entry.connectedAt = Date.now()
    entry.lastSeen = entry.connectedAt
    entry.state = 'connected'
    entry.dialAttempts = 0
    entry.lastError = undefined
    entry.lastDialError = undefined
    entry.lostAt = undefined
    entry.released = false
    Promise.resolve(conn.closed)
      .then(
        (value) => this.#onClosed(entry, conn, reasonOf(value), closeKind(value)),
        (error: unknown) => this.#onClosed(entry, conn, reasonOf(error), 'other'),
      )
      .catch((error: unknown) =>
        this.#c.log.warn('handling a closed connection failed', { error: errorMessage(error) }),
      )
    if (previous !== undefined) {
      this.#c.stats.replaced++
      this.#c.log.debug('live connection replaced', { id: shortId(entry.id), direction })
      this.#noteReplacement(
        entry,
        { direction: previousDirection, connection: previous },
        { direction, connection: conn },
      )
      this.#c.emit('peer:connection-replaced', { id: entry.id, direction, connection: conn, previous })
    } else {
      this.#c.stats.connects++
      this.#c.log.info('peer connected', { id: shortId(entry.id), direction })
      this.#c.emit('peer:connected', { id: entry.id, direction, connection: conn })
    }
    // after the events, so a listener has set up what the waiters use the connection for
    if (entry.connection === conn) this.#c.waiters.resolve(entry.id, conn)
  }

  /** Counts (and logs once per peer) two live nodes with one id: see `judgeReplacement`. */
  #noteReplacement(entry: PeerEntry<C>, previous: ReplacementEnd, next: ReplacementEnd): void {
    const { conflict, remember } = judgeReplacement(entry.replacements, previous, next, Date.now())
    entry.replacements = remember
    if (!conflict) return
    this.#c.stats.idConflicts++
    if (entry.conflictWarned === true) return
    entry.conflictWarned = true
    this.#c.log.warn(
      'connections from one id keep replacing each other: two live nodes using one id (a copied identity?), or a peer restarting or redialing in a loop',
      { id: shortId(entry.id), addresses: replacementAddresses(previous, next) },
    )
  }

  /**
   * `conn`, the live connection of `entry`, is gone (closed, or released by us): the entry is idle,
   * keeps the RTT of its path (see `pathRtt`), and the disconnect is counted. Returns the direction
   * the connection had.
   */
  #detach(entry: PeerEntry<C>, conn: C, reason: string): ConnectionDirection {
    const direction = entry.direction ?? 'outbound'
    entry.connection = undefined
    entry.direction = undefined
    entry.connectedAt = undefined
    entry.state = 'idle'
    entry.lastError = reason
    entry.pathRtt = readRtt(conn) ?? 0
    this.#c.stats.disconnects++
    return direction
  }

  #onClosed(entry: PeerEntry<C>, conn: C, reason: string, kind: CloseKind): void {
    if (entry.connection !== conn) return // a duplicate or an already forgotten connection
    const lived = Date.now() - (entry.connectedAt ?? 0)
    const direction = this.#detach(entry, conn, reason)
    this.#c.log.info('peer disconnected', { id: shortId(entry.id), reason })
    this.#c.emit('peer:disconnected', { id: entry.id, reason, direction })
    if (this.#c.peers.get(entry.id) !== entry || !this.#c.started()) return
    if (entry.connection !== undefined) return // a listener accepted a new one already
    if (!entry.discovered || !this.#c.isTrusted(entry.id)) {
      this.#c.forget(entry, reason)
      return
    }
    if (lived >= this.#c.cfg.stableAfter) entry.backoffLevel = 0
    if (entry.addresses.length === 0) return
    if (kind === 'released' || this.#c.cfg.onDemand) {
      // still a member: dialed again when used (ensureConnected), never by itself
      entry.released = kind === 'released'
      return
    }
    if (kind === 'departed') {
      this.#c.dials.holdDeparted(entry)
      return
    }
    if (kind === 'path-lost') entry.lostAt = Date.now()
    this.#c.dials.scheduleRedial(entry)
  }
}

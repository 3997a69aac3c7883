// The node's peer links: a link per live connection (started on the registry's `peer:connected`
// and `peer:connection-replaced`), its `hello`, the swap to a newer connection, `peer:up` and
// `peer:down`, stalls, liveness probes of suspected peers, idle release and eviction, and the
// lookup (or dial on use) of a peer's link.

import { isNodeId, type Logger, shortId, subscribe } from '@peer/discovery-core'
import { errorMessage, nameMatch, toError } from '@peer/discovery-core/internal'
import type { PeerRegistry } from '@peer/registry'
import {
  type CloseInfo,
  CODE,
  type Connection,
  ConnectionClosedError,
  type Listener,
} from '@peer/transport-quic'
import type { ConnectionPolicy } from './connection-policy.js'
import { PeerUnavailableError, unavailableFromClose } from './errors.js'
import { LinkWaitFailure, type LinkWaitKind, LinkWaits } from './link-waits.js'
import type { ProbeTrigger } from './liveness-probe.js'
import { awaitLink, memberIdFor } from './members.js'
import { type LinkHost, PeerLink } from './peer-link.js'
import type { NodeCounters, NodeEvents } from './types.js'

/**
 * The close reason (and `peer:down` reason) of a connection whose peer did not answer a liveness
 * probe. @internal
 */
export const UNRESPONSIVE = 'unresponsive'

/** What `find` says of a node id without a link, and of a name no link has. */
const NOT_CONNECTED = 'not connected'
const NO_SUCH_NAME = 'no connected peer has this name'

const TRIGGERS: Record<ProbeTrigger, string> = {
  'member-left': 'discovery lost it',
  'request-timeout': 'a request to it timed out',
}

/** What the links use of their node. @internal */
export interface NodeLinksContext {
  readonly log: Logger
  readonly stats: NodeCounters
  readonly policy: ConnectionPolicy
  readonly onDemand: boolean
  /** Calls that may wait for one peer's connection at once (`maxQueuedMessages`); more fail at once. */
  readonly maxWaiting: number
  /** Aborted when the node stops. */
  readonly lifetime: AbortSignal
  /** True while the node is started. */
  started(): boolean
  /** Throws `NodeStoppedError` unless the node is started. */
  assertStarted(): void
  registry(): PeerRegistry<Connection> | undefined
  /** The error of a call that needs `ref` up when it is not: `detail`, then why. */
  notUp(ref: string, detail: string, cause?: unknown): PeerUnavailableError
  /** The host of a new link. */
  host(): LinkHost
  emit<K extends keyof NodeEvents & string>(
    type: K,
    detail: NodeEvents[K] extends CustomEvent<infer D> ? D : never,
  ): void
}

/** The node's links, up and opening. @internal */
export class NodeLinks {
  /** The link of each peer that is up. */
  readonly links = new Map<string, PeerLink>()
  /** The link opening on each peer's newest connection. */
  readonly opening = new Map<string, PeerLink>()
  /** `ready` `{ id }` each time a link is up (a new peer, or a newer connection taking over). */
  readonly linkReady = new EventTarget()
  readonly #c: NodeLinksContext
  /** Calls waiting for each peer's link (a dial, a hello, a newer connection's): one shared wait per peer. */
  readonly #waits: LinkWaits

  constructor(context: NodeLinksContext) {
    this.#c = context
    this.#waits = new LinkWaits(context.maxWaiting, context.lifetime)
  }

  /**
   * Wires the listener's connections into the registry, and the registry's events into the links
   * and the node's events; returns the unsubscribers.
   */
  wire(listener: Listener, registry: PeerRegistry<Connection>): Array<() => void> {
    // a new connection, or a newer one replacing the live one
    const onConnected = (event: CustomEvent<{ id: string }>) => this.attach(event.detail.id)
    return [
      subscribe(listener, {
        connection: (event) => registry.accept(event.detail.connection),
        'connection:rejected': (event) => {
          this.#c.stats.rejected++
          this.#c.emit('peer:rejected', {
            id: event.detail.id,
            source: 'inbound',
            reason: event.detail.reason,
          })
        },
      }),
      subscribe(registry, {
        'peer:connected': onConnected,
        'peer:connection-replaced': onConnected,
        'peer:rejected': (event) => {
          this.#c.stats.rejected++
          this.#c.emit('peer:rejected', {
            id: event.detail.id,
            source: event.detail.source,
            reason: event.detail.reason,
          })
        },
        'peer:dial-failed': (event) => this.#c.emit('peer:dial-failed', { ...event.detail }),
        'peer:member': (event) => this.#c.emit('member:joined', { ...event.detail }),
        'peer:member-lost': (event) => {
          this.#c.policy.forget(event.detail.id)
          this.#c.emit('member:left', { ...event.detail })
          // discovery is a hint: a connection still up is probed, never dropped on its word
          const link = this.links.get(event.detail.id)
          if (link !== undefined) this.suspect(link, 'member-left')
        },
      }),
    ]
  }

  /**
   * Starts a link on the registry's live connection to `id`, unless one runs or opens on it
   * already. When the peer is up on an older connection (the registry swapped connections: a
   * simultaneous dial resolved, or the peer redialed), the peer stays up and the new link takes
   * over once its `hello` exchange is done; no `peer:down` / `peer:up` is emitted for the swap.
   */
  attach(id: string): void {
    if (!this.#c.started()) return
    const connection = this.#c.registry()?.connection(id)
    if (connection === undefined || connection.isClosed) return
    const up = this.links.get(id)
    const opening = this.opening.get(id)
    if (up?.connection === connection || opening?.connection === connection) return
    opening?.close(replaced(id))
    const direction = this.#c.registry()?.status(id)?.direction ?? connection.direction
    const link = new PeerLink(connection, direction, this.#c.host())
    this.opening.set(id, link)
    connection.closed
      .then((info) => this.#onConnectionClosed(link, info))
      .catch((error: unknown) => this.#internalError('handling a closed connection', error))
    link
      .open()
      .then(
        () => {
          if (this.opening.get(id) === link) this.opening.delete(id)
          if (link.closed || !this.#c.started() || connection.isClosed) return
          const previous = this.links.get(id)
          this.links.set(id, link)
          this.linkReady.dispatchEvent(new CustomEvent('ready', { detail: { id } }))
          if (previous !== undefined) {
            previous.close(previous.stalled ? stalledError(id) : replaced(id))
            this.#c.log.debug('peer moved to a newer connection', { id: shortId(id), direction })
            return
          }
          this.#c.stats.peersUp++
          this.#c.policy.touch(link)
          this.#c.log.info('peer up', { id: shortId(id), name: link.name, direction })
          this.#c.emit('peer:up', {
            id,
            name: link.name,
            direction,
            address: { ...connection.remoteAddress },
          })
        },
        (error: unknown) => {
          if (this.opening.get(id) === link) this.opening.delete(id)
          link.close(toError(error))
          // an older link kept up for this one is dead: the peer is down after all
          const previous = this.links.get(id)
          if (previous?.closed) this.down(previous, errorMessage(error))
          if (!this.#c.started()) return
          // a simultaneous dial resolved (the duplicate connection closed, or a newer one took
          // over) is normal operation, not a warning
          const live = this.#c.registry()?.connection(id)
          const superseded =
            (error instanceof PeerUnavailableError && error.reason === 'replaced') ||
            (live !== undefined && live !== connection)
          this.#c.log[superseded ? 'debug' : 'warn']('peer link failed to open', {
            id: shortId(id),
            error: errorMessage(error),
          })
          // tell the peer what was wrong (unless the connection is gone already)
          if (error instanceof ConnectionClosedError || connection.isClosed) return
          const lost = error instanceof PeerUnavailableError && error.reason !== 'protocol-error'
          connection
            .close(
              `hello failed: ${errorMessage(error)}`.slice(0, 200),
              lost ? CODE.NO_ERROR : CODE.PROTOCOL_ERROR,
            )
            .catch((closeError: unknown) =>
              this.#c.log.debug('close failed', { error: errorMessage(closeError) }),
            )
        },
      )
      .catch((error: unknown) => this.#internalError('opening a peer link', error))
  }

  /**
   * A link stalled: the registry probes the peer with fresh dials; a handshake that succeeds while
   * the link is still stalled replaces its connection (`peer:connection-replaced`, then #attach).
   */
  onStalled(link: PeerLink, recovered: AbortSignal): void {
    this.#c.stats.stalls++
    this.#c.log.info('peer connection stalled: probing a fresh one', {
      id: shortId(link.id),
      name: link.name,
    })
    const registry = this.#c.registry()
    if (registry === undefined || !this.#c.started()) return
    registry
      .probeStalled(link.id, { signal: recovered })
      .then((replaced) => {
        if (replaced) this.#c.stats.stallRecoveries++
      })
      .catch((error: unknown) => this.#internalError('probing a stalled connection', error))
  }

  /**
   * The peer of a link that is up is suspected: discovery lost it, or a request or ping to it timed
   * out. The link probes it (a ping on the control lane, at most one probe in flight per link); an
   * answer changes nothing, and no answer within the probe's time limit closes the connection:
   * `peer:down` with reason {@link UNRESPONSIVE}, and what was in flight fails with
   * `PeerUnavailableError` reason `connection-lost`.
   */
  suspect(link: PeerLink, trigger: ProbeTrigger): void {
    if (!this.#c.started() || link.closed || this.links.get(link.id) !== link) return
    const probe = link.probe()
    if (!probe.started) return
    this.#c.stats.probes++
    this.#c.log.debug('probing a suspected peer', { id: shortId(link.id), name: link.name, trigger })
    probe.outcome
      .then((outcome) => {
        if (outcome === 'unanswered') this.#unresponsive(link, trigger, probe.timeoutMs)
      })
      .catch((error: unknown) => this.#internalError('probing a suspected peer', error))
  }

  #unresponsive(link: PeerLink, trigger: ProbeTrigger, timeoutMs: number): void {
    if (link.closed || !this.#c.started()) return
    this.#c.stats.probeFailures++
    const detail = `no answer to a liveness probe within ${timeoutMs} ms (sent because ${TRIGGERS[trigger]})`
    this.#c.log.info('peer unresponsive: closing the connection', {
      id: shortId(link.id),
      name: link.name,
      trigger,
      timeoutMs,
    })
    link.close(new PeerUnavailableError(link.id, detail, { reason: 'connection-lost' }))
    this.down(link, UNRESPONSIVE)
    link.connection
      .close(UNRESPONSIVE)
      .catch((error: unknown) => this.#c.log.debug('close failed', { error: errorMessage(error) }))
  }

  /** A bug in our own bookkeeping: logged, never an uncaught exception. */
  #internalError(what: string, error: unknown): void {
    this.#c.log.error(`${what} failed`, { error: errorMessage(error) })
  }

  #onConnectionClosed(link: PeerLink, info: CloseInfo): void {
    const reason = info.reason || info.by
    link.close(unavailableFromClose(link.id, info))
    if (this.opening.get(link.id) === link) this.opening.delete(link.id)
    if (this.links.get(link.id) === link && this.#c.started()) {
      // the registry may hold a newer connection already (a simultaneous dial resolved, or the
      // peer redialed): stay up while its link opens
      this.attach(link.id)
      if (this.opening.has(link.id)) return
    }
    this.down(link, reason)
    queueMicrotask(() => {
      try {
        this.attach(link.id)
      } catch (error) {
        this.#internalError('attaching a peer link', error)
      }
    })
  }

  down(link: PeerLink, reason: string): void {
    if (this.links.get(link.id) !== link) return
    this.links.delete(link.id)
    this.#c.policy.unlink(link)
    this.#c.stats.peersDown++
    this.#c.log.info('peer down', { id: shortId(link.id), name: link.name, reason })
    this.#c.emit('peer:down', { id: link.id, name: link.name, reason })
  }

  /**
   * The link for `ref` (node id or name): the one that is up, or else, for a member dialed on use
   * (any member with `on-demand`; with `mesh`, one whose dial or hello is in flight, that said it
   * was stopping, or whose connection was released), a new one once the dial (shared with
   * concurrent callers) and the `hello` exchange are done, within `timeoutMs` and `signal`.
   */
  linkFor(ref: string, timeoutMs: number, signal: AbortSignal | undefined): PeerLink | Promise<PeerLink> {
    this.#c.assertStarted()
    const found = this.find(ref)
    if (found instanceof PeerLink) {
      // its connection closed, or the registry replaced it, while a newer one opens (a stalled
      // connection replaced, a peer that redialed): the call waits for the new link instead of
      // failing on the old one (with the matrixai engine the old close was seen first, and every
      // call in between failed). One map lookup when nothing opens.
      const next = this.opening.get(found.id)
      const stale =
        next !== undefined && (found.closed || found.connection !== this.#c.registry()?.connection(found.id))
      if (stale)
        return this.#waits.wait(this.#openingKind, found.id, ref, timeoutMs, signal, { stale: found, next })
      this.#c.policy.touch(found)
      return found
    }
    if (found !== NOT_CONNECTED && found !== NO_SUCH_NAME) throw new PeerUnavailableError(ref, found)
    const registry = this.#c.registry()!
    const member = memberIdFor(ref, registry)
    if ('why' in member) throw this.#c.notUp(ref, NOT_CONNECTED)
    // a mesh dials by itself: a call joins the dial in flight (or the hello of a connection just
    // made) within its timeout, and fails at once while the peer backs off (a call must not hammer
    // a peer that is failing). It dials a peer that said it was stopping (the registry waits for
    // discovery to report it again, which a static list or a DNS zone never does: after a restart
    // it would be out of reach for `departedHoldMs`; if it is gone, the dial fails and it backs
    // off) and a connection released as unused (`idle`)
    if (!this.#c.onDemand && registry.status(member.id)?.state === 'backoff') {
      throw this.#c.notUp(ref, NOT_CONNECTED)
    }
    return this.#waits.wait(this.#dialKind, member.id, ref, timeoutMs, signal, undefined)
  }

  /**
   * The shared wait of calls for a link opening on a newer connection while `stale`, the old one,
   * is still in `links`.
   */
  readonly #openingKind: LinkWaitKind<{ stale: PeerLink; next: PeerLink }> = {
    prefix: '>',
    start: async (id, { stale, next }, shared) => {
      shared.connected()
      const link = await awaitLink(
        this.#waitHost(stale),
        forEachCaller,
        id,
        next.connection,
        Infinity,
        shared.signal,
      )
      this.#c.policy.touch(link)
      return link
    },
    timedOut: (ref, timeoutMs) => notUpWithin(ref, timeoutMs),
  }

  /** The shared wait of calls for a member's link: its dial (joined when in flight), then its `hello`. */
  readonly #dialKind: LinkWaitKind<undefined> = {
    prefix: '',
    start: async (id, _context, shared) => {
      let connection: Connection
      try {
        // no time limit of its own: the registry's dial ends, or the last caller leaves (abort)
        connection = await this.#c
          .registry()!
          .ensureConnected(id, { signal: shared.signal, timeoutMs: Infinity })
      } catch (error) {
        this.#c.assertStarted()
        // said as a call to a member that is not up says it (where it stands, the last dial's
        // error: this dial's when it failed), with the dial's error as the cause (and what else
        // ended it: the connection cap)
        const said = errorMessage(error)
        const dialError = this.#c.registry()?.status(id)?.lastDialError
        const detail = said === dialError ? NOT_CONNECTED : `${NOT_CONNECTED} (${said})`
        throw new LinkWaitFailure((ref) => this.#c.notUp(ref, detail, error))
      }
      shared.connected()
      const link = await awaitLink(this.#waitHost(), forEachCaller, id, connection, Infinity, shared.signal)
      this.#c.policy.touch(link)
      return link
    },
    timedOut: (ref, timeoutMs, connected) =>
      connected ? notUpWithin(ref, timeoutMs) : this.#c.notUp(ref, `not up within ${timeoutMs} ms`),
  }

  /**
   * What `awaitLink` reads of this node; `stale`, still in `links` until its successor is up, never counts.
   */
  #waitHost(stale?: PeerLink) {
    return {
      link: (peer: string) => {
        const link = this.links.get(peer)
        return link === stale ? undefined : link
      },
      pending: (peer: string) => this.#c.registry()?.connection(peer) !== undefined || this.opening.has(peer),
      ready: this.linkReady,
      lifetime: this.#c.lifetime,
    }
  }

  /** Closes an unused link's connection: `peer:down` now, no redial on either side. */
  release(link: PeerLink, reason: 'idle' | 'evicted'): void {
    if (this.links.get(link.id) !== link) return
    link.close(new PeerUnavailableError(link.id, `the connection was closed as ${reason}`))
    this.down(link, reason)
    if (reason === 'idle') {
      this.#c.stats.idleCloses++
      this.#c.registry()?.release(link.id, 'idle')
    }
  }

  /** The registry's `evictIdle`: the least recently used idle link, taken down (the registry closes it). */
  evictIdle(): string | undefined {
    const id = this.#c.policy.evictionCandidate()
    const link = id === undefined ? undefined : this.links.get(id)
    if (link === undefined) return undefined
    this.release(link, 'evicted')
    return link.id
  }

  /** The link for an id or name, or why there is none. */
  find(ref: string): PeerLink | string {
    // the common case first: a connected peer's id (one map lookup, no pattern match per send)
    const byId = this.links.get(ref)
    if (byId !== undefined) return byId
    if (typeof ref !== 'string' || ref === '') return 'not a node id or name'
    if (isNodeId(ref)) return NOT_CONNECTED
    const exact: PeerLink[] = []
    const short: PeerLink[] = []
    for (const link of this.links.values()) {
      const match = nameMatch(link.name ?? this.#c.registry()?.status(link.id)?.name, ref)
      if (match === 'exact') exact.push(link)
      else if (match === 'short') short.push(link)
    }
    const matches = exact.length > 0 ? exact : short
    if (matches.length === 1) return matches[0]!
    if (matches.length > 1) return `the name matches ${matches.length} peers; use a node id`
    return NO_SUCH_NAME
  }
}

/** How a shared wait's `awaitLink` says the peer is unavailable: for each caller's own ref (name or id). */
function forEachCaller(detail: string): LinkWaitFailure {
  return new LinkWaitFailure((ref) => new PeerUnavailableError(ref, detail))
}

/** A caller's timeout once the connection was made: the `hello` (or a newer link) did not finish. */
function notUpWithin(ref: string, timeoutMs: number): PeerUnavailableError {
  return new PeerUnavailableError(ref, `connected but not up within ${Math.round(timeoutMs)} ms`)
}

function stalledError(id: string): PeerUnavailableError {
  return new PeerUnavailableError(id, 'the connection stalled and was replaced by a fresh one', {
    reason: 'connection-lost',
  })
}

function replaced(id: string): PeerUnavailableError {
  return new PeerUnavailableError(id, 'the connection was replaced by a newer one', { reason: 'replaced' })
}

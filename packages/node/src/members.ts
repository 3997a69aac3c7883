// Members (discovered, trusted peers, connected or not): finding one by id or name, and waiting
// for the link of a connection made on first use.
import { isNodeId } from '@peer/discovery-core'
import { nameMatch } from '@peer/discovery-core/internal'
import type { PeerStatus } from '@peer/registry'
import type { CloseInfo, Connection } from '@peer/transport-quic'
import { PeerUnavailableError } from './errors.js'
import { eventWait } from './event-wait.js'
import type { PeerLink } from './peer-link.js'

/** Why {@link memberIdFor} found no member for a name. @internal */
export const NO_MEMBER = 'no member has this name'

/** The member id `ref` (a node id or name) designates, or why there is none. @internal */
export function memberIdFor(
  ref: string,
  members: { status(id: string): PeerStatus | undefined; peers(): readonly PeerStatus[] },
): { id: string } | { why: string } {
  // by id: one lookup (a snapshot of every peer per first use was 25 KiB of garbage at 65 peers)
  if (isNodeId(ref)) return members.status(ref)?.discovered === true ? { id: ref } : { why: 'not connected' }
  const exact: string[] = []
  const short: string[] = []
  for (const m of members.peers()) {
    if (!m.discovered) continue
    const match = nameMatch(m.name, ref)
    if (match === 'exact') exact.push(m.id)
    else if (match === 'short') short.push(m.id)
  }
  const matches = exact.length > 0 ? exact : short
  if (matches.length === 1) return { id: matches[0]! }
  if (matches.length > 1) return { why: `the name matches ${matches.length} members; use a node id` }
  return { why: NO_MEMBER }
}

/** The reason the registry closes the losing connection of a simultaneous dial with. */
const DUPLICATE_CLOSE_REASON = 'duplicate'

/** Who closed a connection, as the error of a wait for its link says it. */
const CLOSED_BY: Record<CloseInfo['by'], string> = {
  local: 'closed here',
  remote: 'closed by the peer',
  'idle-timeout': 'idle timeout',
  error: 'error',
}

/** What {@link awaitLink} needs from the node. @internal */
export interface LinkWaitHost {
  /** The link that is up for `id`, if any. */
  link(id: string): PeerLink | undefined
  /** Whether a connection to `id` is still live or a link opens for it (a replacement may come up). */
  pending(id: string): boolean
  /** Dispatches `ready` `{ id }` whenever a link is up, including one that took over from an older link. */
  readonly ready: EventTarget
  /** Aborts when the node stops. */
  readonly lifetime: AbortSignal
}

/**
 * Resolves with the link of `id` once it is up (the `hello` exchange on `connection` done), at
 * once when it is. Rejects with `PeerUnavailableError` naming `ref` (or what `ref` makes of the
 * detail, when it is a function) when the connection closes with nothing replacing it or after
 * `ms`, an `AbortError` when `signal` aborts, `NodeStoppedError` on stop.
 * @internal
 */
export function awaitLink(
  host: LinkWaitHost,
  ref: string | ((detail: string) => Error),
  id: string,
  connection: Connection,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<PeerLink> {
  const now = host.link(id)
  if (now !== undefined && !now.closed) return Promise.resolve(now)
  const unavailable =
    typeof ref === 'string' ? (detail: string) => new PeerUnavailableError(ref, detail) : ref
  const check = (finish: (link: PeerLink | undefined) => void) => {
    const link = host.link(id)
    if (link !== undefined && !link.closed) finish(link)
  }
  const wait = eventWait<PeerLink>({
    target: host.ready,
    type: 'ready',
    onEvent: (event, finish) => {
      if ((event as CustomEvent<{ id: string }>).detail.id === id) check(finish)
    },
    timeoutMs: ms,
    timeoutError: () => unavailable(`connected but not up within ${Math.round(ms)} ms`),
    lifetime: host.lifetime,
    stoppedMessage: 'the node stopped while connecting',
    signal,
  })
  connection.closed.then(
    (info) =>
      // the close may be a simultaneous dial resolving: wait for the connection that won
      queueMicrotask(() => {
        check(wait.finish)
        // closed as a duplicate (by either side): the peer's own dial won the simultaneous dial and
        // comes up as a link, though it may not have reached this node's registry yet (1 in 500
        // first requests of a 100-node on-demand bench failed here); the timer (for the shared wait
        // of link-waits.ts, its callers' own timers) still bounds the wait
        if (info.reason === DUPLICATE_CLOSE_REASON) return
        if (!host.pending(id)) {
          wait.finish(
            undefined,
            unavailable(
              `the connection closed before the peer was up${info.reason ? ` (${CLOSED_BY[info.by]}: ${info.reason})` : ''}`,
            ),
          )
        }
      }),
    () => {},
  )
  return wait.promise
}

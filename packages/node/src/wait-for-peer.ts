// PeerNode.waitForPeer's wait: until the peer is up, the timeout, the signal or the node's stop.

import type { PeerUnavailableError } from './errors.js'
import { eventWait } from './event-wait.js'
import type { PeerInfo } from './types.js'

/**
 * Resolves with `lookup()` at the first `peer:up` of `events` for which it finds the peer; rejects
 * with `notUp(detail)` after `timeout` (a `PeerUnavailableError` saying why the peer is not up),
 * `NodeStoppedError` when `lifetime` aborts, or an `AbortError` when `signal` aborts. @internal
 */
export function waitForUp(
  events: EventTarget,
  lookup: () => PeerInfo | undefined,
  timeout: number,
  lifetime: AbortSignal,
  signal: AbortSignal | undefined,
  notUp: (detail: string) => PeerUnavailableError,
): Promise<PeerInfo> {
  return eventWait<PeerInfo>({
    target: events,
    type: 'peer:up',
    onEvent: (_, finish) => {
      const info = lookup()
      if (info !== undefined) finish(info)
    },
    timeoutMs: timeout,
    timeoutError: () => notUp(`not up within ${timeout} ms`),
    lifetime,
    stoppedMessage: 'the node stopped while waiting for a peer',
    signal,
  }).promise
}

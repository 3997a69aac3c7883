// PeerNode.waitForPeer's wait: until the peer is up, the timeout, the signal or the node's stop.

import { notUp } from './errors.js'
import { eventWait } from './event-wait.js'
import type { PeerInfo } from './types.js'

/**
 * Resolves with `lookup()` at the first `peer:up` of `events` for which it finds the peer; rejects
 * with `PeerUnavailableError` after `timeout` (naming the last dial error `lastError` gives),
 * `NodeStoppedError` when `lifetime` aborts, or an `AbortError` when `signal` aborts. @internal
 */
export function waitForUp(
  events: EventTarget,
  lookup: () => PeerInfo | undefined,
  peer: string,
  timeout: number,
  lifetime: AbortSignal,
  signal: AbortSignal | undefined,
  lastError: () => string | undefined = () => undefined,
): Promise<PeerInfo> {
  return eventWait<PeerInfo>({
    target: events,
    type: 'peer:up',
    onEvent: (_, finish) => {
      const info = lookup()
      if (info !== undefined) finish(info)
    },
    timeoutMs: timeout,
    timeoutError: () => notUp(peer, `not up within ${timeout} ms`, lastError()),
    lifetime,
    stoppedMessage: 'the node stopped while waiting for a peer',
    signal,
  }).promise
}

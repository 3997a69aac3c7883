// PeerNode.waitForPeer's wait: until the peer is up, the timeout, the signal or the node's stop.

import { abortErrorFor } from '@peer/discovery-core'
import { NodeStoppedError, PeerUnavailableError } from './errors.js'
import type { PeerInfo } from './types.js'

/**
 * Resolves with `lookup()` at the first `peer:up` of `events` for which it finds the peer; rejects
 * with `PeerUnavailableError` after `timeout`, `NodeStoppedError` when `lifetime` aborts, or an
 * `AbortError` when `signal` aborts. @internal
 */
export function waitForUp(
  events: EventTarget,
  lookup: () => PeerInfo | undefined,
  peer: string,
  timeout: number,
  lifetime: AbortSignal,
  signal: AbortSignal | undefined,
): Promise<PeerInfo> {
  return new Promise<PeerInfo>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      events.removeEventListener('peer:up', onUp)
      lifetime.removeEventListener('abort', onStop)
      signal?.removeEventListener('abort', onAbort)
    }
    const onUp = () => {
      const info = lookup()
      if (info === undefined) return
      cleanup()
      resolve(info)
    }
    const onStop = () => {
      cleanup()
      reject(new NodeStoppedError('the node stopped while waiting for a peer'))
    }
    const onAbort = () => {
      cleanup()
      reject(abortErrorFor(signal!))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new PeerUnavailableError(peer, `not up within ${timeout} ms`))
    }, timeout)
    events.addEventListener('peer:up', onUp)
    lifetime.addEventListener('abort', onStop, { once: true })
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

// A closed listener keeps its UDP port until QUIC's closing period ends (about 3 PTO: seconds under
// load), in the background, so that `stop()` can return at once. A listen on the same host and port
// in this process waits for that release instead of failing with EADDRINUSE: `await node.stop();
// await node.start()` on a fixed port just works.
import { throwIfAborted } from '@peer/discovery-core'
import { settleWithin } from '@peer/discovery-core/internal'
import type { TransportAddress } from './types.js'

/** Longest wait for an earlier listener of this process to release its port. */
export const RELEASE_WAIT_MS = 10_000

interface Held {
  released: Promise<void>
  /** The listener started closing: a new listen on its port waits for the release. */
  closing: boolean
}

const bound = new Map<string, Held>()

const key = (address: TransportAddress) => `${address.host.toLowerCase()}|${address.port}`

/** Records a listener's port until `released` settles; call `closing()` when its close starts. */
export function trackPort(address: TransportAddress, released: Promise<void>): { closing(): void } {
  const k = key(address)
  const held: Held = { released, closing: false }
  bound.set(k, held)
  const forget = () => {
    if (bound.get(k) === held) bound.delete(k)
  }
  void released.then(forget, forget)
  return {
    closing() {
      held.closing = true
    },
  }
}

/**
 * Waits (bounded, abortable) until no closing listener of this process holds `address` any more.
 * Port 0 never waits, and neither does a port whose listener is still open: that bind fails at
 * once with what holds the port (waiting could only end in the same error, seconds later). Does
 * not reject on timeout: the bind then reports what holds the port.
 */
export async function awaitPortRelease(address: TransportAddress, signal?: AbortSignal): Promise<void> {
  if (address.port === 0) return
  const held = bound.get(key(address))
  if (held === undefined || !held.closing) return
  await settleWithin(
    held.released.catch(() => {}),
    RELEASE_WAIT_MS,
    { signal },
  )
  throwIfAborted(signal)
}

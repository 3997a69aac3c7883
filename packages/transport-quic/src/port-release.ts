// A closed listener keeps its UDP port until QUIC's closing period ends (about 3 PTO: seconds under
// load), in the background, so that `stop()` can return at once. A listen on the same host and port
// in this process waits for that release instead of failing with EADDRINUSE: `await node.stop();
// await node.start()` on a fixed port just works.
import { delay, raceSignal } from '@peer/discovery-core'
import type { TransportAddress } from './types.js'

/** Longest wait for an earlier listener of this process to release its port. */
export const RELEASE_WAIT_MS = 10_000

const bound = new Map<string, Promise<void>>()

const key = (address: TransportAddress) => `${address.host.toLowerCase()}|${address.port}`

/** Records a listener's port until `released` settles. */
export function trackPort(address: TransportAddress, released: Promise<void>): void {
  const k = key(address)
  bound.set(k, released)
  void released.then(
    () => bound.get(k) === released && bound.delete(k),
    () => bound.get(k) === released && bound.delete(k),
  )
}

/**
 * Waits (bounded, abortable) until no listener of this process holds `address` any more. Port 0
 * never waits. Does not reject on timeout: the bind then reports what holds the port.
 */
export async function awaitPortRelease(address: TransportAddress, signal?: AbortSignal): Promise<void> {
  if (address.port === 0) return
  const pending = bound.get(key(address))
  if (pending === undefined) return
  const bounded = new AbortController() // ends the bounding timer once the port is released
  try {
    await raceSignal(
      Promise.race([pending.catch(() => {}), delay(RELEASE_WAIT_MS, bounded.signal).catch(() => {})]),
      signal,
    )
  } finally {
    bounded.abort()
  }
}

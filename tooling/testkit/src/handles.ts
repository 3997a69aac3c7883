// What a test counts to prove nothing is left open. Node's `getActiveResourcesInfo()` sees only
// sockets that Node owns; the quinn engine's UDP sockets live in Rust. Both are file descriptors.
import { readdirSync, readlinkSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Open sockets of this process, whoever owns them (Node, Rust), from /proc/self/fd. */
export function openSockets(): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++
    } catch {
      // closed meanwhile
    }
  }
  return n
}

/**
 * A full garbage collection. quinn's client endpoint gives its UDP socket back when the JavaScript
 * object that owns it is collected (its `abort()` only closes the endpoint).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

/**
 * The socket count once garbage from earlier tests is gone: collects and re-counts until two
 * readings `intervalMs` apart agree (quinn sockets of connections closed earlier close only when
 * their objects are collected, so a count taken at once can be too high and make a later "no
 * socket left" check meaningless). Bounded by `timeoutMs`; returns the last reading.
 */
export async function settledSockets(intervalMs = 200, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = -1
  for (;;) {
    collectGarbage()
    const now = openSockets()
    if (now === last || Date.now() > deadline) return now
    last = now
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

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

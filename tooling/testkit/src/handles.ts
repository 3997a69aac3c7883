// What a test counts to prove nothing is left open. Node's `getActiveResourcesInfo()` sees only
// sockets that Node owns; the quinn engine's UDP sockets live in Rust. Both are file descriptors.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { waitFor } from './wait.js'

/** Open sockets of this process, whoever owns them (Node, Rust), from /proc/self/fd. */
export function openSockets(): number {
  return socketInodes().size
}

/** The inodes of this process's open sockets (as `openSockets` counts them). */
export function socketInodes(): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (m) inodes.add(m[1] as string)
    } catch {
      // closed meanwhile
    }
  }
  return inodes
}

/**
 * What the sockets with these inodes are, e.g. `udp 0.0.0.0:41234 (inode 123)`, from this
 * process's /proc/net tables (`unix` and `other` for sockets those tables do not list): for the
 * message of a test that finds a socket left open.
 */
export function describeSockets(inodes: Iterable<string>): string[] {
  const where = new Map<string, string>()
  for (const table of ['udp', 'udp6', 'tcp', 'tcp6']) {
    let text = ''
    try {
      text = readFileSync(`/proc/self/net/${table}`, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      where.set(f[9] as string, `${table} ${hexAddress(f[1] as string)}`)
    }
  }
  return [...inodes].map((inode) => `${where.get(inode) ?? 'unix/other'} (inode ${inode})`)
}

/** `0100007F:1F90` as `127.0.0.1:8080`; an IPv6 address stays in the kernel's hex words. */
function hexAddress(field: string): string {
  const [host = '', port = ''] = field.split(':')
  const p = Number.parseInt(port, 16)
  if (host.length === 8) {
    const b = Buffer.from(host, 'hex').reverse()
    return `${[...b].join('.')}:${p}`
  }
  return `[${host}]:${p}`
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
 * Waits until every object `refs` point to is garbage collected, forcing a collection before each
 * look (what a closed object leaves, such as its last promises, settles a few turns later).
 * Rejects after `timeoutMs` naming `what` and how many are still held.
 */
export async function waitUntilCollected(
  refs: readonly WeakRef<object>[],
  options: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<void> {
  const { what, timeoutMs = 30_000, intervalMs = 20 } = options
  await waitFor(
    async () => {
      collectGarbage()
      await new Promise((r) => setTimeout(r, intervalMs))
      return refs.every((r) => r.deref() === undefined)
    },
    { timeoutMs, what },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; still held: ${refs.filter((r) => r.deref()).length} of ${refs.length}`)
  })
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

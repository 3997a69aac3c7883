// The local UDP port of a socket the quinn binding bound (its client endpoint does not say):
// the socket inodes of this process before and after the bind, then /proc/net/udp{,6}. Linux
// only, like the binding; 0 when it cannot be told.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** The socket inodes this process holds. */
export function socketInodes(): Set<string> {
  const out = new Set<string>()
  let fds: string[]
  try {
    fds = readdirSync('/proc/self/fd')
  } catch {
    return out
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))
      if (m !== null) out.add(m[1] as string)
    } catch {
      // closed meanwhile
    }
  }
  return out
}

/** The local port of the one UDP socket that is new since `before`, or 0. */
export function newUdpPort(before: Set<string>): number {
  const fresh = [...socketInodes()].filter((inode) => !before.has(inode))
  if (fresh.length === 0) return 0
  const ports = new Map<string, number>()
  for (const file of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    let text: string
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      const local = cols[1]
      const inode = cols[9]
      if (local === undefined || inode === undefined) continue
      ports.set(inode, Number.parseInt(local.slice(local.indexOf(':') + 1), 16))
    }
  }
  const found = fresh.map((inode) => ports.get(inode)).filter((p): p is number => p !== undefined)
  return found.length === 1 ? (found[0] as number) : 0
}

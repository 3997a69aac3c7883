// The local UDP port of a socket the quinn binding bound (its client endpoint does not say).
// Linux only, like the binding; 0 when it cannot be told.
//
// Cost matters: this runs on every dial that creates a client endpoint, and a process of a large
// cluster holds hundreds of sockets while /proc/net/udp lists every UDP socket of the network
// namespace. So a dial only lists the names in /proc/self/fd before and after the bind (a new
// socket takes a descriptor number that did not exist before) and reads the link of the new ones
// alone; the port itself is looked up in /proc/net/udp{,6} only when someone asks for it.
// (Reading every descriptor's link and both tables on each dial took 3 ms with a few sockets, 14 ms
// with 200 and 48 ms with 1,000: it made a 100-node dial storm quadratic.)
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'

/**
 * The descriptor numbers this process holds (names under /proc/self/fd). Listing the directory
 * opens a descriptor of its own, which the listing includes and which is free again when it
 * returns: the next socket usually takes that very number. So the number is found first (the
 * lowest free descriptor, by opening and closing /dev/null) and left out.
 */
export function openDescriptors(): Set<string> {
  try {
    const probe = openSync('/dev/null', 'r')
    closeSync(probe)
    const names = new Set(readdirSync('/proc/self/fd'))
    names.delete(String(probe))
    return names
  } catch {
    return new Set()
  }
}

/** The socket inode of the one descriptor that is new since `before`, or undefined. */
export function newSocketInode(before: Set<string>): string | undefined {
  let found: string | undefined
  for (const fd of openDescriptors()) {
    if (before.has(fd)) continue
    let link: string
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(link)
    if (m === null) continue
    if (found !== undefined) return undefined // two new sockets: cannot tell which one
    found = m[1] as string
  }
  return found
}

/** The local port of the UDP socket with this inode (0 when it is not, or no longer, listed). */
export function udpPortOfInode(inode: string | undefined): number {
  if (inode === undefined) return 0
  for (const file of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    let text: string
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      const cols = line.trim().split(/\s+/)
      if (cols[9] !== inode) continue
      const local = cols[1] as string
      return Number.parseInt(local.slice(local.indexOf(':') + 1), 16) || 0
    }
  }
  return 0
}

/**
 * A local address whose port is looked up on first read and kept (see above). Created right after
 * the bind, while `inode` is known; the lookup must happen while the socket is open, so an owner
 * that is about to close it should read `port` first if it wants the value kept.
 */
export function lazyLocalAddress(
  host: string,
  inode: string | undefined,
): { host: string; readonly port: number } {
  let port: number | undefined
  return {
    host,
    get port() {
      port ??= udpPortOfInode(inode)
      return port
    },
  }
}

// Ports for services a test starts itself and must name in advance (an SRV record, a config file, a
// child process's --listen). Binding to port 0 and closing hands out a port from the kernel's
// ephemeral range, where every other `bind(0)` on this machine (QUIC clients, other tests, other
// runs) draws too: between our close and the service's bind, someone else can take it. So these
// ports come from BELOW the ephemeral range, where only explicit binds land, picked at random and
// checked free for every protocol asked for.

import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export interface FreePortOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Which protocols must be free on the port. Default: udp and tcp. */
  protocols?: ReadonlyArray<'udp' | 'tcp'>
}

/** The lowest port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)
    const n = Number(low)
    return Number.isInteger(n) && n > 12000 ? n : 32768
  } catch {
    return 32768
  }
}

const LOW = 10000

function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    sock.once('error', () => resolve(false))
    sock.bind(port, host, () => sock.close(() => resolve(true)))
  })
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** A port outside the ephemeral range that is free right now for every protocol asked for. */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const host = options.host ?? '127.0.0.1'
  const protocols = options.protocols ?? ['udp', 'tcp']
  const high = ephemeralLow()
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW))
    if (protocols.includes('udp') && !(await udpFree(port, host))) continue
    if (protocols.includes('tcp') && !(await tcpFree(port, host))) continue
    return port
  }
  throw new Error(`no free port on ${host} between ${LOW} and ${high}`)
}

/** `count` distinct ports, each free right now for every protocol asked for (see {@link freePort}). */
export async function freePorts(count: number, options: FreePortOptions = {}): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort(options))
  return [...ports]
}

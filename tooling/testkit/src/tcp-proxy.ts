// A TCP proxy on 127.0.0.1 for partition tests: it forwards to a target port and can cut every
// connection (reset), black-hole them (hold every byte until healed) and heal. Used in front of
// etcd (see etcd.ts) and by watch-stall-proxy.ts.

import net from 'node:net'

/** A TCP proxy on 127.0.0.1 that a test can cut (a network partition) and heal. */
export interface TcpProxy {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string
  /** Connections accepted so far. */
  readonly accepted: number
  /** Destroys every open connection and refuses new ones (they are accepted and reset at once). */
  cut(): void
  /**
   * A silent partition: every connection, open or new, stays up but no byte gets through either way
   * (no reset, no close: only timeouts and keepalives can tell) until {@link heal}, which delivers
   * what was held back, as TCP retransmission would after a real partition.
   */
  blackhole(): void
  /** Forwards again: new connections after a cut, all bytes after a black hole. */
  heal(): void
  close(): Promise<void>
}

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /**
   * Moves the bytes of one accepted connection instead of the default forwarding (e.g. to read
   * or hold them). Errors and closes of both sockets are already handled by the proxy.
   */
  forward?: (inbound: net.Socket, outbound: net.Socket) => void
}

/** Starts a {@link TcpProxy} forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let cutOff = false
  let holding = false
  const flushers = new Set<() => void>()
  let accepted = 0
  const server = net.createServer((inbound) => {
    accepted++
    if (cutOff) {
      inbound.resetAndDestroy()
      return
    }
    const outbound = net.connect({ host: '127.0.0.1', port: targetPort })
    sockets.add(inbound)
    sockets.add(outbound)
    const drop = () => {
      inbound.destroy()
      outbound.destroy()
      sockets.delete(inbound)
      sockets.delete(outbound)
    }
    inbound.on('error', drop).on('close', drop)
    outbound.on('error', drop).on('close', drop)
    if (options.forward !== undefined) options.forward(inbound, outbound)
    else {
      const up: Buffer[] = []
      const down: Buffer[] = []
      const flush = () => {
        if (up.length > 0) outbound.write(Buffer.concat(up.splice(0)))
        if (down.length > 0) inbound.write(Buffer.concat(down.splice(0)))
      }
      flushers.add(flush)
      inbound.once('close', () => flushers.delete(flush))
      inbound.on('data', (chunk: Buffer) => {
        if (holding) up.push(chunk)
        else outbound.write(chunk)
      })
      outbound.on('data', (chunk: Buffer) => {
        if (holding) down.push(chunk)
        else inbound.write(chunk)
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port
  const destroyAll = () => {
    for (const s of sockets) s.resetAndDestroy()
    sockets.clear()
  }
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted
    },
    cut() {
      cutOff = true
      destroyAll()
    },
    blackhole() {
      holding = true
    },
    heal() {
      cutOff = false
      holding = false
      for (const flush of flushers) flush()
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll()
        server.close(() => resolve())
      }),
  }
}

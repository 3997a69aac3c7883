// An in-process stand-in for a transport, for unit tests of the registry's logic: listeners keyed
// by host:port, dials that pin the remote id, connection pairs whose halves close together.
// The real-transport tests (tooling/integration/test/registry/quic-*.test.ts) check the same rules
// over @peer/transport-quic.
import type { PeerAddress } from '@peer/discovery-core'
import type { RegistryConnection, RegistryDialOptions, RegistryTransport } from '../../src/index.js'

export class PinError extends Error {
  override name = 'PinError'
}
export class RefusedError extends Error {
  override name = 'RefusedError'
}

export class MemoryConnection implements RegistryConnection {
  other!: MemoryConnection
  isClosed = false
  closeReason: string | undefined
  readonly rtt = 1
  #resolve!: (value: { reason: string }) => void
  readonly closed = new Promise<{ reason: string }>((r) => {
    this.#resolve = r
  })
  constructor(
    readonly localId: string,
    readonly remoteId: string,
    readonly direction: 'inbound' | 'outbound',
    readonly remoteAddress: PeerAddress,
  ) {}
  close(reason = 'closed'): void {
    this.#end(reason)
    this.other.#end(reason)
  }
  #end(reason: string): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    this.#resolve({ reason })
  }
}

interface Listener {
  id: string
  onConnection: (conn: MemoryConnection) => void
}

export class MemoryNetwork {
  readonly listeners = new Map<string, Listener>()
  /** Addresses that never answer (a dial hangs until its signal aborts). */
  readonly blackholes = new Set<string>()
  /** Every connection ever created, both halves. */
  readonly connections: MemoryConnection[] = []
  dials = 0
  inFlight = 0
  maxInFlight = 0
  latency: () => number = () => 1
  /**
   * After a dial commits (`onCommit`): how long until the listener's side gets the connection, and
   * until the dial resolves (a loaded event loop on either side). 0: at once, in that order.
   */
  handDelay: () => number = () => 0
  resolveDelay: () => number = () => 0
  #nextClientPort = 50000

  listen(id: string, address: PeerAddress, onConnection: (conn: MemoryConnection) => void): () => void {
    const key = `${address.host}:${address.port}`
    this.listeners.set(key, { id, onConnection })
    return () => {
      if (this.listeners.get(key)?.id === id) this.listeners.delete(key)
    }
  }

  transport(
    localId: string,
    localHost = '127.0.0.1',
  ): RegistryTransport<MemoryConnection> & { dialed: string[] } {
    const dialed: string[] = []
    return {
      dialed,
      reportsDialCommit: true,
      dial: async (address: PeerAddress, options: RegistryDialOptions) => {
        const key = `${address.host}:${address.port}`
        dialed.push(key)
        this.dials++
        this.inFlight++
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
        try {
          await wait(this.blackholes.has(key) ? 1e9 : this.latency(), options.signal)
          const listener = this.listeners.get(key)
          if (listener === undefined) throw new RefusedError(`nothing listens on ${key}`)
          if (listener.id !== options.expectedId) {
            throw new PinError(
              `expected ${options.expectedId.slice(0, 8)} at ${key}, found ${listener.id.slice(0, 8)}`,
            )
          }
          const clientAddress = { host: localHost, port: this.#nextClientPort++ }
          const outbound = new MemoryConnection(localId, listener.id, 'outbound', address)
          const inbound = new MemoryConnection(listener.id, localId, 'inbound', clientAddress)
          outbound.other = inbound
          inbound.other = outbound
          this.connections.push(outbound, inbound)
          // like the QUIC transport: an aborted dial never commits; a committed one may be handed
          // out already, and aborting it after that closes it under the listener's feet
          options.signal?.throwIfAborted()
          options.onCommit?.()
          const handDelay = this.handDelay()
          if (handDelay > 0) setTimeout(() => listener.onConnection(inbound), handDelay)
          else listener.onConnection(inbound)
          const resolveDelay = this.resolveDelay()
          if (resolveDelay > 0) {
            try {
              await wait(resolveDelay, options.signal)
            } catch (error) {
              outbound.close('handshake failed')
              throw error
            }
          }
          return outbound
        } finally {
          this.inFlight--
        }
      },
    }
  }

  /** Connections still open, as `localId -> remoteId` strings. */
  open(): MemoryConnection[] {
    return this.connections.filter((c) => !c.isClosed)
  }
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

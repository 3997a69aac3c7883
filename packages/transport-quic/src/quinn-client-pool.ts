// The quinn engine's client endpoints: which UDP socket a dial goes out from.
//
// One endpoint per address family and tuning serves every dial (like the listener's one socket
// serves every client). Each quinn endpoint costs about 3 MB of receive buffer (64 GRO segments
// of 1,472 bytes times a batch of 32) and a socket: with one endpoint per remote address, a node
// of a 100-node mesh held 99 of them and ten such nodes in one process ran out of memory.
//
// The exception is a server that does not answer through the shared endpoint. quinn keeps the
// address token (NEW_TOKEN) the last quinn server sent and offers it to the next server it dials;
// an unpatched @matrixai/quic server silently drops an Initial with a token it did not mint (this
// package's engine patch makes it answer with a Retry instead, as RFC 9000 8.1.3 asks). After a
// dial through the shared endpoint times out, that address is dialed from an endpoint of its own,
// created for it and dropped when its connections end, as every address was before.
import type { Logger as PeerLogger } from '@peer/discovery-core'
import type { EngineContext } from './engine.js'
import { lazyLocalAddress, newSocketInode, openDescriptors } from './local-port.js'
import type { QuinnBinding, QuinnClient, QuinnConfig } from './quinn-binding.js'
import type { TransportAddress } from './types.js'

/** Idle client endpoints kept per transport for later dials. */
const MAX_IDLE_CLIENTS = 16
/** Addresses remembered as needing an endpoint of their own (oldest forgotten first). */
const MAX_OWN_ENDPOINT_ADDRESSES = 256

/** One client endpoint and the connections dialed through it. */
export interface ClientEntry {
  readonly key: string
  readonly client: QuinnClient
  /** The endpoint's local address (its port looked up on first read; 0 when it cannot be told). */
  readonly local: TransportAddress
  /** Whether it serves every address (false: one address that did not answer through it). */
  readonly shared: boolean
  connections: number
}

export class QuinnClientPool {
  readonly #binding: QuinnBinding
  readonly #config: (ctx: EngineContext) => QuinnConfig
  readonly #clients = new Map<string, ClientEntry>()
  readonly #ownEndpoint = new Set<string>()
  /** Every endpoint not aborted yet, in the map or dropped from it while still in use. */
  readonly #open = new Set<ClientEntry>()
  #closed = false

  constructor(binding: QuinnBinding, config: (ctx: EngineContext) => QuinnConfig) {
    this.#binding = binding
    this.#config = config
  }

  /** Number of endpoints open (in use or idle). */
  get size(): number {
    return this.#clients.size
  }

  /** The endpoint a dial to `address` goes out from; counts the dial as one of its connections. */
  acquire(ctx: EngineContext, address: TransportAddress): ClientEntry {
    const v6 = address.host.includes(':')
    const where = `${address.host}|${address.port}`
    const shared = !this.#ownEndpoint.has(where)
    const t = ctx.tuning
    const key = `${shared ? '*' : where}|${v6 ? 6 : 4}|${t.maxIdleTimeoutMs}|${t.keepAliveIntervalMs}|${t.maxStreams}`
    let entry = this.#clients.get(key)
    if (entry === undefined) {
      const config = this.#config(ctx)
      const before = openDescriptors()
      const client = new this.#binding.Client(
        config,
        v6 ? this.#binding.SocketFamily.Ipv6 : this.#binding.SocketFamily.Ipv4,
      )
      const local = lazyLocalAddress(v6 ? '::' : '0.0.0.0', newSocketInode(before))
      entry = { key, client, local, shared, connections: 0 }
      this.#open.add(entry)
    }
    // most recently used last
    this.#clients.delete(key)
    this.#clients.set(key, entry)
    entry.connections++
    return entry
  }

  /**
   * A dial through `entry` failed. An endpoint of one address is dropped (it may be the one that
   * hangs); when the shared one got no answer in time, `address` gets an endpoint of its own from
   * the next dial on.
   */
  failed(entry: ClientEntry, address: TransportAddress, timedOut: boolean, logger: PeerLogger): void {
    entry.connections--
    if (this.#closed) return // close() aborted every endpoint
    if (!entry.shared) {
      this.#drop(entry)
      return
    }
    if (!timedOut) return
    const where = `${address.host}|${address.port}`
    if (this.#ownEndpoint.has(where)) return
    this.#ownEndpoint.add(where)
    if (this.#ownEndpoint.size > MAX_OWN_ENDPOINT_ADDRESSES) {
      this.#ownEndpoint.delete(this.#ownEndpoint.values().next().value as string)
    }
    logger.info(
      'no QUIC answer through the shared client endpoint; the next dials to this address use an endpoint of their own (a server that drops foreign address tokens, e.g. an unpatched @matrixai/quic, answers those)',
      { address: `${address.host}:${address.port}` },
    )
  }

  /** A connection dialed through `entry` ended. */
  release(entry: ClientEntry): void {
    entry.connections--
    if (entry.connections > 0) return
    if (this.#closed || this.#clients.get(entry.key) !== entry) {
      this.#abort(entry)
      return
    }
    // keep a few idle endpoints for the next dials; drop the oldest idle one
    const idle = [...this.#clients.values()].filter((e) => e.connections === 0)
    if (idle.length > MAX_IDLE_CLIENTS) this.#drop(idle[0] as ClientEntry)
  }

  /**
   * Aborts every endpoint, idle or not: the transport has closed its connections by now, so what
   * an endpoint still carries is a dial in flight (or one given up, e.g. aborted by its caller,
   * whose handshake the binding keeps trying). Each such handshake keeps the process alive until
   * it ends, up to `connectTimeoutMs` after it began; aborting the endpoint ends them at once.
   */
  close(): void {
    this.#closed = true
    for (const entry of [...this.#open]) this.#abort(entry)
    this.#clients.clear()
  }

  #drop(entry: ClientEntry): void {
    if (this.#clients.get(entry.key) === entry) this.#clients.delete(entry.key)
    if (entry.connections === 0) this.#abort(entry)
  }

  #abort(entry: ClientEntry): void {
    if (!this.#open.delete(entry)) return
    try {
      entry.client.abort()
    } catch {
      // already closed
    }
  }
}

// A node for real-transport tests: identity, trust list, QUIC transport + listener, discovery and
// a PeerRegistry wired together the way @peer/node wires them.
import { Discovery, type DiscoveryBackend, type PeerAddress } from '@peer/discovery-core'
import { generateIdentity, type Identity, TrustList } from '@peer/identity'
import { PeerRegistry, type PeerRegistryOptions, type RegistryTransport } from '@peer/registry'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { type Connection, createTransport, type Listener, type Transport } from '@peer/transport-quic'
import { afterEach } from 'vitest'

/** A transport wrapper that counts dials, for assertions on what was (not) dialed. */
export interface CountingTransport extends RegistryTransport<Connection> {
  dials: string[]
  inFlight: number
  maxInFlight: number
}

export function countingTransport(transport: Transport): CountingTransport {
  const counter: CountingTransport = {
    dials: [],
    inFlight: 0,
    maxInFlight: 0,
    dial: async (address, options) => {
      counter.dials.push(`${address.host}:${address.port}`)
      counter.inFlight++
      counter.maxInFlight = Math.max(counter.maxInFlight, counter.inFlight)
      try {
        return await transport.dial(address, options)
      } finally {
        counter.inFlight--
      }
    },
  }
  return counter
}

export interface QuicNodeOptions {
  identity?: Identity
  trust?: TrustList
  host?: string
  port?: number
  /** Discovery backends; default one ManualBackend. */
  backends?: DiscoveryBackend[]
  registry?: Partial<PeerRegistryOptions<Connection>>
  /** QUIC idle timeout (ms); short in tests so liveness is observable. */
  maxIdleTimeoutMs?: number
}

export interface QuicNode {
  identity: Identity
  id: string
  trust: TrustList
  transport: Transport
  dialer: CountingTransport
  listener: Listener
  address: PeerAddress
  discovery: Discovery
  /** The first backend, when it is a ManualBackend. */
  manual: ManualBackend | undefined
  registry: PeerRegistry<Connection>
  stop(): Promise<void>
}

const FAST_BACKOFF = { initialDelayMs: 50, maxDelayMs: 1000 }

export async function startQuicNode(options: QuicNodeOptions = {}): Promise<QuicNode> {
  const identity = options.identity ?? (await generateIdentity())
  const trust = options.trust ?? new TrustList()
  const transport = createTransport({
    identity,
    trust: trust.predicate,
    maxIdleTimeoutMs: options.maxIdleTimeoutMs ?? 5000,
    keepAliveIntervalMs: 500,
    connectTimeoutMs: 3000,
  })
  const listener = await transport.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  const backends = options.backends ?? [new ManualBackend()]
  const discovery = new Discovery({ backends, lostHysteresis: 0, self: identity.id })
  const dialer = countingTransport(transport)
  const registry = new PeerRegistry<Connection>({
    self: identity.id,
    transport: dialer,
    trust,
    discovery,
    backoff: FAST_BACKOFF,
    dialTimeoutMs: 3000,
    // tests restart stopped peers at once and expect redials: hold a departed peer only briefly
    departedHoldMs: 300,
    ...options.registry,
  })
  listener.addEventListener('connection', (event) => registry.accept(event.detail.connection))
  await discovery.start()
  await registry.start()
  let stopped = false
  return {
    identity,
    id: identity.id,
    trust,
    transport,
    dialer,
    listener,
    address: { host: listener.address.host, port: listener.address.port },
    discovery,
    manual: backends[0] instanceof ManualBackend ? backends[0] : undefined,
    registry,
    async stop() {
      if (stopped) return
      stopped = true
      await registry.stop()
      await discovery.stop()
      await transport.close('node stopped')
    },
  }
}

/** Makes `a` trust `b` and discover it through a's manual backend. */
export function introduce(a: QuicNode, b: QuicNode, address: PeerAddress = b.address): void {
  a.trust.add(b.id)
  a.manual!.announcePeer(b.id, [address])
}

/**
 * For a test file: a `node(options)` that starts a QuicNode and stops it after the test, and
 * `cleanups` for anything else to undo after each test (run in reverse order).
 */
export function quicNodesPerTest(): {
  node: (options?: QuicNodeOptions) => Promise<QuicNode>
  cleanups: Array<() => Promise<void> | void>
} {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  const node = async (options: QuicNodeOptions = {}) => {
    const n = await startQuicNode(options)
    cleanups.push(() => n.stop())
    return n
  }
  return { node, cleanups }
}

// The peer registry's test nodes over the in-process transport: a registry, its manual discovery
// and trust list, listening on a memory network; cleaned up after each test (`runCleanups`).
import type { Discovery, PeerAddress } from '@peer/discovery-core'
import { TrustList } from '@peer/identity'
import { testId } from '@peer/testkit/ids'
import { type ManualBackend, manualDiscovery } from '@peer/testkit/manual-discovery'
import { PeerRegistry, type PeerRegistryOptions } from '../../src/index.js'
import { type MemoryConnection, MemoryNetwork } from './memory-network.js'

export interface TestNode {
  id: string
  address: PeerAddress
  trust: TrustList
  discovery: Discovery
  backend: ManualBackend
  registry: PeerRegistry<MemoryConnection>
  transport: ReturnType<MemoryNetwork['transport']>
  stopListening: () => void
}

/** What the running test started, stopped by `runCleanups` (last first). */
export const cleanups: Array<() => Promise<void> | void> = []

/** Stops everything the test started: `afterEach(runCleanups)`. */
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c()
}

let portCounter = 20000
/** Redial back-off for tests: fast. */
export const FAST = { initialDelayMs: 20, maxDelayMs: 200 }

/** A node on `net`: its registry not started (it answers as a plain server until it is). */
export async function makeNode(
  net: MemoryNetwork,
  label: string,
  options: Partial<PeerRegistryOptions<MemoryConnection>> = {},
): Promise<TestNode> {
  const id = testId(`${label}-${portCounter}`)
  const address = { host: '127.0.0.1', port: portCounter++ }
  const trust = new TrustList()
  const { discovery, backend } = await manualDiscovery()
  const transport = net.transport(id)
  const registry = new PeerRegistry<MemoryConnection>({
    self: id,
    transport,
    trust,
    discovery,
    backoff: FAST,
    dialTimeoutMs: 1000,
    ...options,
  })
  // a node whose registry is not started answers like a plain server: it keeps the connection
  const onConnection = (c: MemoryConnection) => {
    if (registry.started) registry.accept(c)
  }
  const stopListening = net.listen(id, address, onConnection)
  const node = { id, address, trust, discovery, backend, registry, transport, stopListening }
  cleanups.push(async () => {
    stopListening()
    await registry.stop()
    await discovery.stop()
  })
  return node
}

/** Two nodes `a` and `b` on a fresh network, `a`'s registry started (`b`'s not). */
export async function startedPair(): Promise<{ net: MemoryNetwork; a: TestNode; b: TestNode }> {
  const net = new MemoryNetwork()
  const a = await makeNode(net, 'a')
  const b = await makeNode(net, 'b')
  await a.registry.start()
  return { net, a, b }
}

/** Makes `a` trust and discover `b`. */
export function introduce(a: TestNode, b: TestNode): void {
  a.trust.add(b.id)
  a.backend.announcePeer(b.id, [b.address])
}

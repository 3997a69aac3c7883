// The node pairs of `pnpm bench node-messaging` (suites/node-messaging.ts): both nodes in this
// process, or the answering node `b` in a child process (src/messaging-child.ts) with, on loopback,
// a second pair between the same two processes and a third in two further processes; through the
// lossy relay (in a child process too) when asked.
import { fileURLToPath } from 'node:url'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity } from '@peer/identity'
import { createNode, type NodeOptions, type PeerNode } from '@peer/node'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'

const CHILD = fileURLToPath(new URL('./messaging-child.ts', import.meta.url))
/** How often a ping loop sends a ping. */
export const PING_EVERY_MS = 20
/** The lossy relay: 5% loss, 50 ms one-way delay, seeded. */
const RELAY = { loss: 0.05, delayMs: 50, seed: 7 }

export interface Pair {
  /** The child process of node `b` (two-process pairs). */
  child?: RpcChild
  a: PeerNode
  /** Node `b`'s id (`b` itself only when it runs in this process). */
  bId: string
  b?: PeerNode
  /**
   * A second pair between the same two processes (loopback, two processes): `a2` here dials `b2`
   * beside `b` in the child; pinged alongside, never carrying bulk.
   */
  separate?: { a: PeerNode; bId: string }
  /**
   * A third pair in two further processes (loopback, two processes): its dialer's child pings its
   * answerer's alongside; they share only the machine's cores with the bulk transfer.
   */
  apart?: RpcChild
  /** Bulk messages node `b` handled so far. */
  bulkReceived(): Promise<number>
  close(): Promise<void>
}

export type LocalPair = Pair & { b: PeerNode }

export const lossyTuning = (lossy: boolean): Partial<NodeOptions> =>
  lossy ? { transport: { maxIdleTimeoutMs: 60_000 } } : {}

/** Node `a` (here) dials `b` at `address`; `b` never dials `a`. Stopped again if it never connects. */
export async function dialer(
  bId: string,
  address: { host: string; port: number },
  options: Partial<NodeOptions>,
  ia: Awaited<ReturnType<typeof generateIdentity>>,
): Promise<PeerNode> {
  const da = new StaticDiscovery()
  const a = await createNode({
    identity: ia,
    trust: [bId],
    name: 'a@bench',
    discovery: da,
    requestTimeoutMs: 30_000,
    ...options,
  })
  da.add({ id: bId, name: 'b@bench', addresses: [address] })
  try {
    await a.waitForPeer(bId, { timeoutMs: 30_000 })
  } catch (error) {
    await a.stop({ timeoutMs: 1000 }).catch(() => {})
    throw error
  }
  return a
}

/** Both nodes (and the relay) in this process. */
export async function pair(lossy: boolean, options: Partial<NodeOptions> = {}): Promise<LocalPair> {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const b = await createNode({
    identity: ib,
    trust: [ia.id],
    name: 'b@bench',
    requestTimeoutMs: 30_000,
    ...lossyTuning(lossy),
    ...options,
  })
  let relay: UdpRelay | undefined
  if (lossy) relay = await createUdpRelay({ listenHost: '127.0.0.1', target: b.address, ...RELAY })
  const a = await dialer(b.id, relay?.address ?? b.address, { ...lossyTuning(lossy), ...options }, ia)
  await b.waitForPeer(a.id, { timeoutMs: 30_000 })
  b.handle('ping', () => null, { priority: 'urgent' })
  let received = 0
  b.handle(
    'bulk',
    () => {
      received++
    },
    { priority: 'bulk' },
  )
  return {
    a,
    b,
    bId: b.id,
    bulkReceived: async () => received,
    async close() {
      await Promise.allSettled([a.stop({ timeoutMs: 1000 }), b.stop({ timeoutMs: 1000 })])
      await relay?.close()
    },
  }
}

/** Node `b` in a child process, the relay (when lossy) in another: `a` alone on this event loop. */
export async function processPair(lossy: boolean, options: Partial<NodeOptions>): Promise<Pair> {
  const ia = await generateIdentity()
  const children: RpcChild[] = []
  const dialers: PeerNode[] = []
  try {
    const nodeChild = await spawnChild(CHILD, { readyTimeoutMs: 60_000 })
    children.push(nodeChild)
    const b = await nodeChild.call<{ id: string; address: { host: string; port: number } }>(
      'start',
      { trust: [ia.id], options },
      { timeoutMs: 60_000 },
    )
    let address = b.address
    if (lossy) {
      const relayChild = await spawnChild(CHILD, { readyTimeoutMs: 60_000 })
      children.push(relayChild)
      address = await relayChild.call('relay', { target: b.address, ...RELAY }, { timeoutMs: 60_000 })
    }
    const a = await dialer(b.id, address, options, ia)
    dialers.push(a)
    await nodeChild.call('waitForPeer', { id: a.id }, { timeoutMs: 60_000 })
    let separate: Pair['separate']
    let apart: RpcChild | undefined
    if (!lossy) {
      const ia2 = await generateIdentity()
      const b2 = await nodeChild.call<{ id: string; address: { host: string; port: number } }>(
        'start',
        { trust: [ia2.id], options },
        { timeoutMs: 60_000 },
      )
      separate = { a: await dialer(b2.id, b2.address, options, ia2), bId: b2.id }
      dialers.push(separate.a)
      await nodeChild.call('waitForPeer', { id: ia2.id }, { timeoutMs: 60_000 })
      const [answerer, pinger] = await Promise.all([
        spawnChild(CHILD, { readyTimeoutMs: 60_000 }),
        spawnChild(CHILD, { readyTimeoutMs: 60_000 }),
      ])
      children.push(answerer, pinger)
      const pingerId = await pinger.call<string>('identity', {}, { timeoutMs: 60_000 })
      const b3 = await answerer.call<{ id: string; address: { host: string; port: number } }>(
        'start',
        { trust: [pingerId], options },
        { timeoutMs: 60_000 },
      )
      await pinger.call('dial', { bId: b3.id, address: b3.address, options }, { timeoutMs: 60_000 })
      await answerer.call('waitForPeer', { id: pingerId }, { timeoutMs: 60_000 })
      apart = pinger
    }
    return {
      child: nodeChild,
      a,
      bId: b.id,
      separate,
      apart,
      bulkReceived: async () => (await nodeChild.call<{ bulkMessages: number }>('stats')).bulkMessages,
      async close() {
        await Promise.allSettled(dialers.map((d) => d.stop({ timeoutMs: 1000 })))
        await Promise.allSettled(children.map((c) => c.close()))
      },
    }
  } catch (error) {
    await Promise.allSettled(dialers.map((d) => d.stop({ timeoutMs: 1000 })))
    await Promise.allSettled(children.map((c) => c.close()))
    throw error
  }
}

/** Latencies of pings from `a` to `bId`, one every 20 ms until `until` (a failed one counts as its time to failure). */
export async function pingLoop(
  a: PeerNode,
  bId: string,
  until: number,
): Promise<{ samples: number[]; failed: number }> {
  const pings: Array<Promise<number | { failedAfter: number }>> = []
  while (performance.now() < until) {
    const t = performance.now()
    pings.push(
      a.request(bId, 'ping', null, { timeoutMs: 30_000 }).then(
        () => performance.now() - t,
        () => ({ failedAfter: performance.now() - t }),
      ),
    )
    await new Promise((r) => setTimeout(r, PING_EVERY_MS))
  }
  const results = await Promise.all(pings)
  const samples = results.map((r) => (typeof r === 'number' ? r : r.failedAfter)).sort((x, y) => x - y)
  return { samples, failed: results.filter((r) => typeof r !== 'number').length }
}

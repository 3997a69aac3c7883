// Two application stacks over QUIC for `pnpm bench libp2p`: a js-libp2p 3 node over
// @chainsafe/libp2p-quic (quinn) with two small protocols, and a @peer/node node with the same
// operations as topics. Each half of each pair runs in a child process of its own (libp2p-server.ts,
// libp2p-client.ts).
//   /peer-bench/echo/1: every chunk echoed (request/response: 64 B request, 64 B answer)
//   /peer-bench/sink/1: counts bytes until the client closes its side, answers with a 16-byte report
import './polyfill.js'
import { quic } from '@chainsafe/libp2p-quic'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { StaticDiscovery } from '@peer/discovery-static'
import type { Identity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { createLibp2p, type Libp2p } from 'libp2p'
import { readReport, report } from './raw-stream.js'

/** @peer/node pairs run on each engine (the `engine` option passed through `transport`). */
export const ENGINES = ['quinn', 'matrixai'] as const
/** The pairs the suite compares. */
export const PAIRS = ['node-quinn', 'node-matrixai', 'libp2p'] as const
export type PairName = (typeof PAIRS)[number]
/** The engine of a node pair (`node-quinn` -> `quinn`); undefined for libp2p or an unknown name. */
export const engineOfPair = (pair: string): (typeof ENGINES)[number] | undefined =>
  ENGINES.find((e) => pair === `node-${e}`)
/** What a server child started: the libp2p listen address, or the node's id, name and address. */
export interface ServerInfo {
  libp2p?: string
  node?: { id: string; name: string; address: unknown }
}
export const ECHO = '/peer-bench/echo/1'
export const SINK = '/peer-bench/sink/1'
const KiB = 1024

type Stream = Awaited<ReturnType<Libp2p['dialProtocol']>>
const bytesOf = (c: Uint8Array | { subarray(): Uint8Array }) => (c instanceof Uint8Array ? c : c.subarray())

async function send(stream: Stream, data: Uint8Array): Promise<void> {
  if (!stream.send(data)) await stream.onDrain()
}

/** A libp2p node on loopback QUIC, nothing else (no discovery, no services). */
export async function libp2pNode(): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
    transports: [quic()],
    connectionGater: { denyDialMultiaddr: () => false },
  })
}

/** Server side of both protocols. */
export async function serveLibp2p(node: Libp2p): Promise<void> {
  await node.handle(ECHO, async (stream) => {
    try {
      for await (const chunk of stream) await send(stream, bytesOf(chunk))
      await stream.close()
    } catch {
      // connection gone: fine for a benchmark server
    }
  })
  await node.handle(SINK, async (stream) => {
    try {
      let bytes = 0
      for await (const chunk of stream) bytes += chunk.byteLength
      await send(stream, report(bytes, 0))
      await stream.close()
    } catch {
      // idem
    }
  })
}

/** Server side of @peer/node: `echo` answers the payload, `sink` counts, `count` reports and resets. */
export function serveNode(node: PeerNode): void {
  let bytes = 0
  let count = 0
  node.handle('echo', (payload: Uint8Array) => payload)
  node.handle('sink', (payload: Uint8Array) => {
    bytes += payload.byteLength
    count++
  })
  node.handle('count', () => {
    const r = { bytes, count }
    bytes = 0
    count = 0
    return r
  })
}

export interface PairClient {
  /** `n` sequential 64-byte round trips; latencies in us. */
  requests(n: number): Promise<number[]>
  /** `n` 64-byte messages; msg/s once the server has them all. */
  messages(n: number): Promise<number>
  /** `bytes` in 64 KiB messages; MB/s once the server has them all. */
  bulk(bytes: number): Promise<number>
  close(): Promise<void>
}

const small = new Uint8Array(64).fill(1)
const block = new Uint8Array(64 * KiB).fill(7)

export async function libp2pClient(server: string): Promise<PairClient> {
  const node = await libp2pNode()
  const target = multiaddr(server)
  await node.dial(target)
  const sink = async (count: number, chunk: Uint8Array) => {
    const stream = await node.dialProtocol(target, SINK)
    const reader = stream[Symbol.asyncIterator]()
    const t = performance.now()
    for (let i = 0; i < count; i++) await send(stream, chunk)
    await stream.close()
    const got = await reader.next()
    const seconds = (performance.now() - t) / 1000
    if (got.done) throw new Error('libp2p sink: no report')
    const r = readReport(bytesOf(got.value))
    if (r.bytes !== count * chunk.byteLength)
      throw new Error(`libp2p sink: ${r.bytes} of ${count * chunk.byteLength}`)
    return seconds
  }
  return {
    async requests(n) {
      const stream = await node.dialProtocol(target, ECHO)
      const reader = stream[Symbol.asyncIterator]()
      const out: number[] = []
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        await send(stream, small)
        let got = 0
        while (got < small.byteLength) {
          const r = await reader.next()
          if (r.done) throw new Error('libp2p echo ended')
          got += r.value.byteLength
        }
        out.push((performance.now() - t) * 1000)
      }
      await stream.close()
      return out
    },
    messages: async (n) => n / (await sink(n, small)),
    bulk: async (bytes) => bytes / (await sink(Math.ceil(bytes / block.byteLength), block)) / 1e6,
    close: async () => {
      await node.stop()
    },
  }
}

export async function nodeClient(
  identity: Identity,
  engine: (typeof ENGINES)[number],
  server: { id: string; name: string; address: unknown },
): Promise<PairClient> {
  const discovery = new StaticDiscovery()
  const node = await createNode({
    name: `bench-client-${engine}@localhost`,
    identity,
    trust: [server.id],
    discovery,
    transport: { engine },
  })
  discovery.add({ id: server.id, name: server.name, addresses: [server.address] } as Parameters<
    StaticDiscovery['add']
  >[0])
  await node.waitForPeer(server.id, { timeoutMs: 30_000 })
  const flood = async (count: number, payload: Uint8Array) => {
    await node.request(server.id, 'count', null) // reset
    const t = performance.now()
    for (let i = 0; i < count; i++) await node.send(server.id, 'sink', payload)
    // `count` is another topic, so another lane: it may overtake the last `sink` messages (order
    // holds per topic). Ask until the server has them all.
    const deadline = Date.now() + 60_000
    let got = 0
    while (got < count) {
      if (Date.now() > deadline) throw new Error(`node sink: ${got} of ${count} after 60 s`)
      got += ((await node.request(server.id, 'count', null, { timeoutMs: 60_000 })) as { count: number })
        .count
    }
    const seconds = (performance.now() - t) / 1000
    if (got !== count) throw new Error(`node sink: ${got} of ${count}`)
    return seconds
  }
  return {
    async requests(n) {
      const out: number[] = []
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        await node.request(server.id, 'echo', small)
        out.push((performance.now() - t) * 1000)
      }
      return out
    },
    messages: async (n) => n / (await flood(n, small)),
    bulk: async (bytes) => bytes / (await flood(Math.ceil(bytes / block.byteLength), block)) / 1e6,
    close: () => node.stop(),
  }
}

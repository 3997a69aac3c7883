// Child process of `pnpm bench node-messaging`: hosts the answering node (`b`) of the ping-during-bulk
// figures, or the lossy userland relay between the two nodes, so that neither shares an event loop
// with the node that sends the bulk messages and times the pings (the parent).
//
//   start({ trust, options })   -> starts node b (answers `ping`, swallows `bulk`); its id and address
//                                  (called again: another node beside it, the separate connection's)
//   relay({ target, ... })      -> starts a UDP relay to `target`; its address
//   identity()                  -> makes the identity of the dialer `dial` starts; its id
//   dial({ bId, address })      -> starts a dialer node here (that identity) connected to `bId`
//   pingLoop({ ms })            -> pings `bId` from that dialer every 20 ms for `ms`; the latencies
//                                  (ms; a failed ping counts as its time to failure)
//                                  (with start in another child: the "other processes" pair, whose
//                                  pings share only the machine's cores with the bulk transfer)
//   loopDelay({ on })           -> starts (on) or pauses recording this event loop's delay; with
//                                  on: false, resolves with its p50 / p99 in ms so far
//   stats()                     -> bulk messages and bytes node b received
//   stop()                      -> stops what runs here (every node)
//
// With PEER_BENCH_CPU_PROF_DIR set, the node's process writes a CPU profile (.cpuprofile) there when
// it stops (the parent can be profiled with `node --cpu-prof`).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { generateIdentity } from '@peer/identity'
import { createNode, type NodeOptions, type PeerNode } from '@peer/node'
import { serveRpc } from '@peer/testkit/child-process'
import { createUdpRelay, type UdpRelay } from '@peer/testkit/udp-relay'
import { dialer, pingLoop } from './messaging-pairs.js'

const nodes: PeerNode[] = []
let relay: UdpRelay | undefined
let dialerIdentity: Awaited<ReturnType<typeof generateIdentity>> | undefined
let dialing: { node: PeerNode; bId: string } | undefined
let bulkMessages = 0
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
let profiler: Session | undefined
const PROFILE_DIR = process.env.PEER_BENCH_CPU_PROF_DIR

async function start(params: {
  trust: string[]
  options?: Partial<NodeOptions>
}): Promise<{ id: string; address: { host: string; port: number } }> {
  if (PROFILE_DIR !== undefined && PROFILE_DIR !== '' && profiler === undefined) {
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.start')
  }
  const identity = await generateIdentity()
  const node = await createNode({
    identity,
    trust: params.trust,
    name: 'b@bench',
    requestTimeoutMs: 30_000,
    ...params.options,
  })
  node.handle('echo', (x) => x)
  node.handle('ping', () => null, { priority: 'urgent' })
  node.handle(
    'bulk',
    () => {
      bulkMessages++
    },
    { priority: 'bulk' },
  )
  nodes.push(node)
  return { id: node.id, address: node.address }
}

async function startRelay(params: {
  target: { host: string; port: number }
  loss: number
  delayMs: number
  seed: number
}): Promise<{ host: string; port: number }> {
  relay = await createUdpRelay({ listenHost: '127.0.0.1', ...params })
  return relay.address
}

async function dial(params: {
  bId: string
  address: { host: string; port: number }
  options?: Partial<NodeOptions>
}): Promise<void> {
  if (dialerIdentity === undefined) throw new Error('call identity() first')
  const node = await dialer(params.bId, params.address, params.options ?? {}, dialerIdentity)
  nodes.push(node)
  dialing = { node, bId: params.bId }
}

async function pingFromDialer({ ms }: { ms: number }): Promise<number[]> {
  if (dialing === undefined) throw new Error('call dial() first')
  return (await pingLoop(dialing.node, dialing.bId, performance.now() + ms)).samples
}

async function stop(): Promise<void> {
  if (profiler !== undefined && PROFILE_DIR !== undefined) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(join(PROFILE_DIR, `messaging-child-${process.pid}.cpuprofile`), JSON.stringify(profile))
    profiler.disconnect()
    profiler = undefined
  }
  await Promise.allSettled([...nodes.map((n) => n.stop({ timeoutMs: 1000 })), relay?.close()])
  nodes.length = 0
  relay = undefined
  dialing = undefined
}

serveRpc(
  {
    start,
    relay: startRelay,
    identity: async () => {
      dialerIdentity ??= await generateIdentity()
      return dialerIdentity.id
    },
    dial,
    pingLoop: pingFromDialer,
    waitForPeer: async ({ id }: { id: string }) => {
      // the node that trusts `id` (each node here trusts its own dialer)
      await Promise.all(
        nodes.filter((n) => n.trust?.has(id)).map((n) => n.waitForPeer(id, { timeoutMs: 30_000 })),
      )
    },
    loopDelay: ({ on }: { on: boolean }) => {
      if (on) loopDelay.enable()
      else loopDelay.disable()
      return { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6 }
    },
    stats: () => ({ bulkMessages }),
    stop,
  },
  { onShutdown: stop, shutdownTimeoutMs: 5000 },
)

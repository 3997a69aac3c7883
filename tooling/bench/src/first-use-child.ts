// Child process of `pnpm bench first-use`: hosts what the parent's first uses reach, so that the
// answering side never shares the parent's event loop (as in a cluster).
//
//   nodes({ trust, count })          -> starts `count` @peer/node nodes (connect: on-demand) that
//                                       answer `echo`; their records
//   quinnServers({ client, count })  -> starts `count` fresh raw quinn servers (echo every chunk),
//                                       pinned to the client peer id; their ports and peer ids
//   closeQuinn()                     -> closes the raw quinn servers
//   stop()                           -> stops everything here
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { serveRpc } from '@peer/testkit/child-process'
import { startQuinnServer } from './quinn-raw.js'
import { echoRaw } from './raw-stream.js'

let nodes: PeerNode[] = []
let servers: Array<{ close(): Promise<void> }> = []

async function closeQuinn(): Promise<void> {
  await Promise.allSettled(servers.map((s) => s.close()))
  servers = []
}

async function stop(): Promise<void> {
  await closeQuinn()
  await Promise.allSettled(nodes.map((n) => n.stop({ timeoutMs: 1000 })))
  nodes = []
}

serveRpc(
  {
    nodes: async ({ trust, count }: { trust: string[]; count: number }) => {
      for (let i = 0; i < count; i++) {
        const node = await createNode({
          identity: await generateIdentity(),
          trust,
          name: `target${i}@bench`,
          connect: 'on-demand',
          metrics: false,
        })
        node.handle('echo', (x) => x)
        nodes.push(node)
      }
      return nodes.map((n) => ({ id: n.id, name: n.name, addresses: [n.address] }))
    },
    quinnServers: async ({ client, count }: { client: string; count: number }) => {
      const started = await Promise.all(
        Array.from({ length: count }, async () =>
          startQuinnServer(await generateIdentity(), client, '127.0.0.1', {}, echoRaw),
        ),
      )
      servers.push(...started)
      return started.map((s) => ({ port: s.port, peerId: s.peerId }))
    },
    closeQuinn,
    stop,
  },
  { onShutdown: stop, shutdownTimeoutMs: 5000 },
)

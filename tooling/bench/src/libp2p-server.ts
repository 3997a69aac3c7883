// A server child of `pnpm bench libp2p`: the server half of one pair (libp2p-pair.ts), so that
// each pair runs in processes of its own, as users run one stack per process, and its CPU time on
// request.
import './polyfill.js'
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { serveRpc } from '@peer/testkit/child-process'
import type { Libp2p } from 'libp2p'
import { engineOfPair, libp2pNode, type PairName, serveLibp2p, serveNode } from './libp2p-pair.js'

let libp2p: Libp2p | undefined
let node: PeerNode | undefined

serveRpc(
  {
    /** Starts the pair's server; a node pair's server trusts `clientId`. */
    async start(params: { pair: PairName; clientId: string }) {
      if (params.pair === 'libp2p') {
        libp2p = await libp2pNode()
        await serveLibp2p(libp2p)
        return { libp2p: libp2p.getMultiaddrs()[0]?.toString() }
      }
      const engine = engineOfPair(params.pair)
      if (engine === undefined) throw new Error(`unknown pair ${params.pair}`)
      node = await createNode({
        name: `bench-server-${engine}@localhost`,
        identity: await generateIdentity(),
        trust: [params.clientId],
        transport: { engine },
      })
      serveNode(node)
      return { node: { id: node.id, name: node.name, address: node.address } }
    },
    cpu() {
      const { user, system } = process.cpuUsage()
      return user + system
    },
  },
  {
    onShutdown: async () => {
      await Promise.allSettled([libp2p?.stop(), node?.stop()])
    },
  },
)

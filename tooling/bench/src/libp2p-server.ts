// The child process of `pnpm bench libp2p`: the server halves of the libp2p pair and the
// @peer/node pair (libp2p-pair.ts), and its CPU time on request.
import './polyfill.js'
import { generateIdentity } from '@peer/identity'
import { createNode, type PeerNode } from '@peer/node'
import { serveRpc } from '@peer/testkit/child-process'
import type { TransportTuning } from '@peer/transport-quic'
import type { Libp2p } from 'libp2p'
import { ENGINES, libp2pNode, serveLibp2p, serveNode } from './libp2p-pair.js'

let libp2p: Libp2p | undefined
const nodes: PeerNode[] = []

serveRpc(
  {
    async start(params: { clientId: string }) {
      libp2p = await libp2pNode()
      await serveLibp2p(libp2p)
      const out: Record<string, { id: string; name: string; address: unknown }> = {}
      for (const engine of ENGINES) {
        const node = await createNode({
          name: `bench-server-${engine}@localhost`,
          identity: await generateIdentity(),
          trust: [params.clientId],
          transport: { engine } as TransportTuning,
        })
        nodes.push(node)
        serveNode(node)
        out[engine] = { id: node.id, name: node.name, address: node.address }
      }
      return { libp2p: libp2p.getMultiaddrs()[0]?.toString(), nodes: out }
    },
    cpu() {
      const { user, system } = process.cpuUsage()
      return user + system
    },
  },
  {
    onShutdown: async () => {
      await Promise.allSettled([libp2p?.stop(), ...nodes.map((n) => n.stop())])
    },
  },
)

// A client child of `pnpm bench libp2p`: the client half of one pair (libp2p-pair.ts), driven by
// the suite over RPC, so that no two pairs share a process.
import './polyfill.js'
import { generateIdentity } from '@peer/identity'
import { serveRpc } from '@peer/testkit/child-process'
import {
  engineOfPair,
  libp2pClient,
  nodeClient,
  type PairClient,
  type PairName,
  type ServerInfo,
} from './libp2p-pair.js'

const identity = await generateIdentity()
let client: PairClient | undefined
const connected = (): PairClient => {
  if (client === undefined) throw new Error('connect first')
  return client
}

serveRpc(
  {
    /** The id a node pair's server must trust. */
    id: () => identity.id,
    async connect(params: { pair: PairName; server: ServerInfo }) {
      if (params.pair === 'libp2p') {
        if (params.server.libp2p === undefined) throw new Error('no libp2p address')
        client = await libp2pClient(params.server.libp2p)
        return
      }
      const engine = engineOfPair(params.pair)
      if (engine === undefined || params.server.node === undefined)
        throw new Error(`cannot connect ${params.pair}`)
      client = await nodeClient(identity, engine, params.server.node)
    },
    requests: (params: { n: number }) => connected().requests(params.n),
    messages: (params: { n: number }) => connected().messages(params.n),
    bulk: (params: { bytes: number }) => connected().bulk(params.bytes),
  },
  {
    onShutdown: async () => {
      await client?.close()
    },
  },
)

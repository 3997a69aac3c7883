// The server half of `pnpm bench transport`, run as a child process (its own CPU core): the three
// stacks of transport-stacks.ts, and its RSS on request.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { serveRpc } from '@peer/testkit/child-process'
import { generateIdentity } from '../../../packages/identity/src/index.js'
import type { TransportTuning } from '../../../packages/transport-quic/src/index.js'
import { type Servers, startServers } from './transport-stacks.js'

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void
let servers: Servers | undefined

serveRpc(
  {
    async start(params: { clientId: string; host: string; tuning?: TransportTuning }) {
      const identity = await generateIdentity()
      servers = await startServers(identity, params.clientId, params.host, params.tuning ?? {})
      return { id: identity.id, quic: servers.quic, raw: servers.raw, tls: servers.tls }
    },
    rss() {
      gc()
      return process.memoryUsage().rss
    },
  },
  { onShutdown: () => servers?.close() },
)

// The server half of `pnpm bench transport`, run as a child process (its own CPU core): the three
// stacks of transport-stacks.ts, and its RSS on request.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateIdentity } from '@peer/identity'
import { serveRpc } from '@peer/testkit/child-process'
import type { TransportTuning } from '@peer/transport-quic'
import { countMajorGcs, makeClients, type Servers, type StackName, startServers } from './transport-stacks.js'

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void
let servers: Servers | undefined
const majorGcs = countMajorGcs()

serveRpc(
  {
    async start(params: { clientId: string; host: string; tuning?: TransportTuning }) {
      const identity = await generateIdentity()
      servers = await startServers(identity, params.clientId, params.host, params.tuning ?? {})
      return { id: identity.id, quic: servers.quic, raw: servers.raw, tls: servers.tls }
    },
    /** Client role: opens `n` idle connections of one stack and reports the RSS growth. */
    async idle(params: {
      stack: StackName
      n: number
      address: { host: string; port: number }
      expectedId: string
      clientPem: { privateKeyPem: string; certificatePem: string }
    }) {
      const { identityFromPem } = await import('@peer/identity')
      const clients = makeClients(identityFromPem(params.clientPem))
      const dial = () => clients[params.stack](params.address, params.expectedId)
      const close = async (c: Awaited<ReturnType<typeof dial>>) => {
        if ('destroy' in c) c.destroy()
        else if ('openChannel' in c) await c.close('warm-up')
        else await c.close(0, 'warm-up')
      }
      for (let i = 0; i < 5; i++) await close(await dial()) // warm-up: code paths, pools
      gc()
      await new Promise((r) => setTimeout(r, 300))
      gc()
      const before = process.memoryUsage().rss
      const held: unknown[] = []
      for (let i = 0; i < params.n; i++) held.push(await dial())
      await new Promise((r) => setTimeout(r, 500))
      gc()
      return { before, after: process.memoryUsage().rss, held: held.length }
    },
    /** CPU time this process used so far (user + system), in microseconds. */
    cpu() {
      const { user, system } = process.cpuUsage()
      return user + system
    },
    /** Full garbage collections since the server started. */
    majorGcs() {
      return majorGcs()
    },
    rss() {
      gc()
      return process.memoryUsage().rss
    },
  },
  { onShutdown: () => servers?.close() },
)

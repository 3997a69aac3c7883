// Child process for the unroutable-resolver test: runs inside a network namespace whose `lo` is
// down, so connecting a UDP socket to 127.0.0.1 fails with ENETUNREACH and to [::1] with
// EADDRNOTAVAIL. It polls through DnsDiscovery and reports every discovery:error; an uncaught
// exception would kill it (and fail the parent's call).
import { serveRpc } from '@peer/testkit/child-process'
import { DnsClient, DnsDiscovery } from '../../src/index.js'

let backend: DnsDiscovery | undefined

const rpc = serveRpc(
  {
    async query({ resolver }: { resolver: string }) {
      const client = new DnsClient({ resolvers: [resolver], attempts: 2, timeoutMs: 2000 })
      try {
        await client.query('unroutable.peer.test', 'A')
        return { ok: true }
      } catch (error) {
        const e = error as Error & { errors?: Error[] }
        return {
          ok: false,
          name: e.name,
          message: e.message,
          causes: (e.errors ?? []).map((x) => ({
            name: x.name,
            cause: (x.cause as Error | undefined)?.message,
          })),
          stats: client.stats,
        }
      } finally {
        client.close()
      }
    },
    async start({ resolvers }: { resolvers: string[] }) {
      backend = new DnsDiscovery({
        resolvers,
        domain: 'peer.test',
        retryDelayMs: 50,
        maxRetryDelayMs: 200,
        timeoutMs: 2000,
        attempts: 1,
      })
      backend.addEventListener('discovery:error', (e) => {
        rpc.emit('discovery-error', { name: e.detail.error.name, message: e.detail.error.message })
      })
      await backend.start()
      return { polls: backend.dnsStats.polls }
    },
    stats() {
      return backend?.dnsStats
    },
  },
  { onShutdown: () => backend?.stop() },
)

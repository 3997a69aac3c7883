// The quinn binding used directly, as the baseline of the cost scripts: a server and a client
// endpoint with the settings our quinn engine gives the binding, and every inbound connection kept.
import { createRequire } from 'node:module'
import type { Identity } from '@peer/identity'
import { privateKeyProto } from '../src/libp2p-tls.js'
import {
  type QuinnBinding,
  type QuinnClient,
  type QuinnConnection,
  type QuinnServer,
  withWorkerThreads,
} from '../src/quinn-binding.js'

/** The binding, loaded as the engine loads it (its runtime's worker threads set the same way). */
export const binding = withWorkerThreads(
  () => createRequire(import.meta.url)('@chainsafe/libp2p-quic-linux-x64-gnu') as QuinnBinding,
)

/** A raw server (`serverId`) on loopback and a client (`clientId`); `inbound` fills as clients connect. */
export function rawPair(
  serverId: Identity,
  clientId: Identity,
  tuning: { keepAliveMs: number; idleMs: number },
): { server: QuinnServer; client: QuinnClient; inbound: QuinnConnection[] } {
  const config = (identity: Identity) =>
    new binding.QuinnConfig({
      privateKeyProto: privateKeyProto(identity),
      handshakeTimeout: 10_000,
      shutdownTimeout: 1000,
      maxIdleTimeout: tuning.idleMs,
      keepAliveInterval: tuning.keepAliveMs,
      maxConcurrentStreamLimit: 256,
      maxStreamData: 16 * 1024 * 1024,
      maxConnectionData: 64 * 1024 * 1024,
      receiveBufferSize: 4 * 1024 * 1024,
      sendBufferSize: 4 * 1024 * 1024,
    })
  const server = new binding.Server(config(serverId), '127.0.0.1', 0)
  const inbound: QuinnConnection[] = []
  void (async () => {
    for (;;) {
      try {
        inbound.push(await server.inboundConnection())
      } catch {
        return
      }
    }
  })()
  const client = new binding.Client(config(clientId), binding.SocketFamily.Ipv4)
  return { server, client, inbound }
}

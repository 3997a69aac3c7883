// The "raw quinn" stack: the quinn binding that ships inside @chainsafe/libp2p-quic
// (`@chainsafe/libp2p-quic-linux-x64-gnu`) used directly, no libp2p and no transport layer. Same
// identity key as the other stacks (the Ed25519 identity as a libp2p key), pinned both ways: the
// client compares the server's peer id from `remoteMultiaddr()`, the server aborts a connection
// from any other peer id before serving a stream.
import { createPrivateKey } from 'node:crypto'
import { createRequire } from 'node:module'
import { privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Identity } from '@peer/identity'
import type { TransportTuning } from '@peer/transport-quic'
import { withWorkerThreads } from '@peer/transport-quic/internal'
import type { RawConn, RawStream } from './raw-stream.js'

/** The subset of the binding's (untyped) API this bench uses. */
interface QuinnStream {
  read(max: number): Promise<Uint8Array | null>
  write(data: Uint8Array): Promise<void>
  finishWrite(): Promise<void>
}
interface QuinnConnection {
  inboundStream(): Promise<QuinnStream>
  outboundStream(): Promise<QuinnStream>
  remoteMultiaddr(): string
  closed(): Promise<void>
  abort(): void
}
interface QuinnServer {
  inboundConnection(): Promise<QuinnConnection>
  port(): number
  abort(): Promise<void> | void
}
interface QuinnClient {
  outboundConnection(host: string, port: number): Promise<QuinnConnection>
  abort(): Promise<void> | void
}
interface QuinnBinding {
  QuinnConfig: new (config: Record<string, unknown>) => object
  Server: new (config: object, host: string, port: number) => QuinnServer
  Client: new (config: object, family: number) => QuinnClient
}

const require = createRequire(import.meta.url)
let binding: QuinnBinding | undefined
export function quinnBinding(): QuinnBinding {
  // loaded as the transport loads it (the same runtime threads), for a like-for-like comparison
  binding ??= withWorkerThreads(() => require('@chainsafe/libp2p-quic-linux-x64-gnu') as QuinnBinding)
  return binding
}

const READ_MAX = 64 * 1024

/** The identity's Ed25519 key as a libp2p key: its protobuf and peer id. */
export function quinnKeyOf(identity: Pick<Identity, 'privateKeyPem'>): { proto: Uint8Array; peerId: string } {
  const jwk = createPrivateKey(identity.privateKeyPem).export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || jwk.d === undefined || jwk.x === undefined)
    throw new Error('raw quinn needs an Ed25519 identity')
  const key = privateKeyFromRaw(
    Buffer.concat([Buffer.from(jwk.d, 'base64url'), Buffer.from(jwk.x, 'base64url')]),
  )
  return { proto: privateKeyToProtobuf(key), peerId: peerIdFromPrivateKey(key).toString() }
}

/** A QuinnConfig with the transport's idle settings (5 s keepalive, 30 s idle timeout by default). */
function quinnConfig(proto: Uint8Array, tuning: TransportTuning) {
  return new (quinnBinding().QuinnConfig)({
    privateKeyProto: proto,
    handshakeTimeout: tuning.connectTimeoutMs ?? 10_000,
    maxIdleTimeout: tuning.maxIdleTimeoutMs ?? 30_000,
    keepAliveInterval: tuning.keepAliveIntervalMs ?? 5_000,
    maxConcurrentStreamLimit: tuning.maxStreams ?? 256,
    maxStreamData: 16 * 1024 * 1024,
    maxConnectionData: 64 * 1024 * 1024,
    receiveBufferSize: 4 * 1024 * 1024,
    sendBufferSize: 4 * 1024 * 1024,
    shutdownTimeout: 1_000,
  })
}

/** `abort()` of a connection that is already gone throws: nothing to do then. */
function abortQuietly(conn: QuinnConnection): void {
  try {
    conn.abort()
  } catch {
    // already closed
  }
}

const peerIdOf = (conn: QuinnConnection) => /\/p2p\/([^/]+)$/.exec(conn.remoteMultiaddr())?.[1]

export function quinnStream(s: QuinnStream): RawStream {
  return {
    write: (b) => s.write(b),
    read: async () => (await s.read(READ_MAX)) ?? undefined,
    finish: () => s.finishWrite(),
  }
}

function quinnConn(conn: QuinnConnection): RawConn {
  return {
    open: async () => quinnStream(await conn.outboundStream()),
    async close() {
      abortQuietly(conn)
      await conn.closed().catch(() => {})
    },
  }
}

/** Listens on `host`, serves every stream of a trusted connection with `serve`. */
export function startQuinnServer(
  identity: Pick<Identity, 'privateKeyPem'>,
  clientPeerId: string,
  host: string,
  tuning: TransportTuning,
  serve: (s: RawStream) => Promise<void>,
): { port: number; peerId: string; close(): Promise<void> } {
  const key = quinnKeyOf(identity)
  const server = new (quinnBinding().Server)(quinnConfig(key.proto, tuning), host, 0)
  const live = new Set<QuinnConnection>()
  void (async () => {
    for (;;) {
      let conn: QuinnConnection
      try {
        conn = await server.inboundConnection()
      } catch {
        return // server aborted
      }
      if (peerIdOf(conn) !== clientPeerId) {
        abortQuietly(conn)
        continue
      }
      live.add(conn)
      conn.closed().then(
        () => live.delete(conn),
        () => live.delete(conn),
      )
      void (async () => {
        for (;;) {
          let s: QuinnStream
          try {
            s = await conn.inboundStream()
          } catch {
            return
          }
          void serve(quinnStream(s))
        }
      })()
    }
  })()
  return {
    port: server.port(),
    peerId: key.peerId,
    async close() {
      for (const c of live) abortQuietly(c)
      await server.abort()
    },
  }
}

/** One client endpoint (one UDP socket, shared by its outbound connections, as the transport does). */
export function quinnDialer(identity: Pick<Identity, 'privateKeyPem'>, tuning: TransportTuning) {
  let client: QuinnClient | undefined
  const key = quinnKeyOf(identity)
  return {
    async dial(address: { host: string; port: number }, expectedPeerId: string): Promise<RawConn> {
      client ??= new (quinnBinding().Client)(
        quinnConfig(key.proto, tuning),
        address.host.includes(':') ? 1 : 0,
      )
      const conn = await client.outboundConnection(address.host, address.port)
      const got = peerIdOf(conn)
      if (got !== expectedPeerId) {
        abortQuietly(conn)
        throw new Error(`raw quinn pinning failed: expected ${expectedPeerId}, got ${got}`)
      }
      return quinnConn(conn)
    },
    async close() {
      await client?.abort()
      client = undefined
    },
  }
}

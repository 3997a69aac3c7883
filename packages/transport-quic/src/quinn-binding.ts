// The quinn binding: the native module inside `@chainsafe/libp2p-quic` (its platform package, e.g.
// `@chainsafe/libp2p-quic-linux-x64-gnu`), used directly. Its JavaScript wrapper needs Node >= 22
// and a whole libp2p stack; the binding itself loads on Node 20. Not a documented API, so it is
// pinned and checked (version and shape) before use.
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { errorMessage } from '@peer/discovery-core/internal'
import {
  ConnectTimeoutError,
  HandshakeError,
  TransportError,
  UntrustedPeerError,
  withCertificateHint,
} from './errors.js'
import { nodeIdFromPeerId } from './libp2p-tls.js'
import type { TransportAddress } from './types.js'

/** The binding version this package is written and tested against. */
export const QUINN_BINDING_VERSION = '2.1.4'

export interface QuinnConfigInit {
  privateKeyProto: Uint8Array
  handshakeTimeout: number
  shutdownTimeout: number
  maxIdleTimeout: number
  keepAliveInterval: number
  maxConcurrentStreamLimit: number
  maxStreamData: number
  maxConnectionData: number
  receiveBufferSize: number
  sendBufferSize: number
}
export interface QuinnConfig {
  readonly __brand?: 'QuinnConfig'
}
export interface QuinnStream {
  id(): string
  read(max: number): Promise<Uint8Array | null>
  write(data: Uint8Array): Promise<void>
  finishWrite(): unknown
  resetWrite(): unknown
  stopRead(): unknown
}
export interface QuinnConnectionStats {
  frameRxConnectionClose: number
  udpRxDatagrams: number
  udpTxDatagrams: number
}
export interface QuinnConnection {
  inboundStream(): Promise<QuinnStream>
  outboundStream(): Promise<QuinnStream>
  abort(): void
  rtt(): number
  remoteMultiaddr(): string
  closed(): Promise<void>
  stats(): QuinnConnectionStats
}
export interface QuinnServer {
  inboundConnection(): Promise<QuinnConnection>
  port(): number
  abort(): Promise<void>
}
export interface QuinnClient {
  outboundConnection(ip: string, port: number): Promise<QuinnConnection>
  abort(): void
}
export interface QuinnBinding {
  QuinnConfig: new (init: QuinnConfigInit) => QuinnConfig
  Server: new (config: QuinnConfig, ip: string, port: number) => QuinnServer
  Client: new (config: QuinnConfig, family: number) => QuinnClient
  SocketFamily: { Ipv4: number; Ipv6: number }
}

/** The platform package for this process, or why there is none. */
function packageName(): { name: string } | { reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { reason: `no quinn binary is pinned for ${process.platform}-${process.arch}` }
  }
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined
  if (report !== undefined && report.header?.glibcVersionRuntime === undefined) {
    return { reason: 'no quinn binary is pinned for musl libc' }
  }
  return { name: '@chainsafe/libp2p-quic-linux-x64-gnu' }
}

let loaded: { binding: QuinnBinding } | { reason: string } | undefined

/** Loads the binding once; `{ reason }` says why it cannot be used here. */
export function loadQuinnBinding(): { binding: QuinnBinding } | { reason: string } {
  loaded ??= load()
  return loaded
}

function load(): { binding: QuinnBinding } | { reason: string } {
  if (process.env.PEER_QUIC_QUINN_BINDING === 'off') return { reason: 'PEER_QUIC_QUINN_BINDING=off' }
  const pkg = packageName()
  if ('reason' in pkg) return pkg
  const require = createRequire(import.meta.url)
  try {
    const version = (require(`${pkg.name}/package.json`) as { version?: string }).version
    if (version !== QUINN_BINDING_VERSION) {
      return { reason: `${pkg.name} is ${version}, this package needs ${QUINN_BINDING_VERSION}` }
    }
    const binding = withWorkerThreads(() => require(pkg.name) as Partial<QuinnBinding>)
    for (const name of ['QuinnConfig', 'Server', 'Client'] as const) {
      if (typeof binding[name] !== 'function') return { reason: `${pkg.name} has no ${name}` }
    }
    if (binding.SocketFamily === undefined) return { reason: `${pkg.name} has no SocketFamily` }
    return { binding: binding as QuinnBinding }
  } catch (error) {
    return { reason: `${pkg.name} does not load: ${(error as Error).message ?? String(error)}` }
  }
}

/**
 * The worker threads of the binding's Rust runtime (tokio) when `TOKIO_WORKER_THREADS` does not
 * say: one fewer than the cores (at least one). The runtime starts as the binding loads, with one
 * worker per core by default; every packet and binding call then wakes one of them beside the
 * JavaScript thread. On this project's 2-core machine, one worker instead of two (full
 * `pnpm bench transport`, 2026-12-04): request p50 141 against 182 us, bulk 313 against 276 MB/s
 * (veth 312 against 255), 64-byte messages 4.19M against 3.89M/s, connect 2.52 against 2.92 ms.
 */
export function defaultWorkerThreads(): number {
  return Math.max(1, availableParallelism() - 1)
}

/**
 * Runs `load` (the binding's `require`) with `TOKIO_WORKER_THREADS` set to
 * {@link defaultWorkerThreads} unless the environment sets it, and restores the environment after:
 * only the runtime this binding starts as it loads sees the default.
 */
export function withWorkerThreads<T>(load: () => T): T {
  if (process.env.TOKIO_WORKER_THREADS !== undefined) return load()
  process.env.TOKIO_WORKER_THREADS = String(defaultWorkerThreads())
  try {
    return load()
  } finally {
    delete process.env.TOKIO_WORKER_THREADS
  }
}

// ---------------------------------------------------------------------------------------------
// what the binding's answers mean

/** Where a connection's multiaddr (`/ip4/<host>/udp/<port>/...`) points. */
export function addressOf(multiaddr: string): TransportAddress {
  const m = /^\/ip[46]\/([^/]+)\/udp\/(\d+)/.exec(multiaddr)
  return m === null ? { host: '', port: 0 } : { host: m[1] as string, port: Number(m[2]) }
}

/**
 * The node id of the peer at the end of a connection's multiaddr (`.../p2p/<peer id>`). The
 * binding's `remoteMultiaddr()` is a costly call (it showed in connect profiles): read it once per
 * connection and pass it on.
 */
export function remoteIdOf(multiaddr: string): string {
  const peerId = /\/p2p\/([^/]+)$/.exec(multiaddr)?.[1]
  if (peerId === undefined) throw new TransportError('the quinn connection carries no peer id')
  return nodeIdFromPeerId(peerId)
}

/** A failed quinn connect as the error a dialer should see. */
export function dialError(error: unknown, where: string): Error {
  const message = errorMessage(error)
  if (/\b(error 49|access.?denied)\b/i.test(message)) {
    return new UntrustedPeerError(`server ${where} does not trust this node`, undefined, { cause: error })
  }
  if (/timed out/i.test(message)) {
    return new ConnectTimeoutError(`no QUIC answer from ${where}`, { cause: error })
  }
  if (/handshake|certificate|crypto|tls/i.test(message)) {
    return new HandshakeError(`handshake with ${where} failed: ${withCertificateHint(message)}`, undefined, {
      cause: error,
    })
  }
  return new TransportError(`cannot connect to ${where}: ${message}`, { cause: error })
}

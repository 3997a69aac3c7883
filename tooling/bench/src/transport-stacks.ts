// The five stacks the transport benchmark compares, server and client halves:
// - `peer-quinn`, `peer-matrixai`: @peer/transport-quic (message channels) on each engine;
// - `raw-quinn`: the quinn binding used directly (quinn-raw.ts);
// - `raw-matrixai`: @matrixai/quic through the transport's engine module only (matrixai-raw.ts);
// - `tls`: node:tls 1.3 over TCP with the same pinning (node id of the peer certificate) and the
//   same framing code (createMessageChannel over the socket's web streams).
// Raw stacks get hand-framed writes (raw-stream.ts); the others use message channels.
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { createServer as createTlsServer, type Server, type TLSSocket, connect as tlsConnect } from 'node:tls'
import { type Identity, nodeIdFromCertificate } from '@peer/identity'
import {
  createMessageChannel,
  createTransport,
  type MessageChannel,
  type Transport,
  type TransportTuning,
} from '@peer/transport-quic'
import { matrixaiDialer, startMatrixaiServer } from './matrixai-raw.js'
import { quinnDialer, quinnKeyOf, startQuinnServer } from './quinn-raw.js'
import { MODE_SINK, type RawConn, type RawStream, readReport, report, serveRaw } from './raw-stream.js'

export const STACKS = ['peer-quinn', 'peer-matrixai', 'raw-quinn', 'raw-matrixai', 'tls'] as const
export type StackName = (typeof STACKS)[number]
/**
 * How much more work a run of `stack` gets than a run of a @matrixai stack: the quinn and tls
 * stacks move 10 to 100 times faster, and a run must last long enough (hundreds of ms) that
 * scheduling on the shared machine does not decide its rate. Rates stay comparable.
 */
export const workScale = (stack: StackName): number => (stack.endsWith('matrixai') ? 1 : 4)
export type Engine = 'quinn' | 'matrixai'
const ENGINE_OF = { 'peer-quinn': 'quinn', 'peer-matrixai': 'matrixai' } as const

export interface Address {
  host: string
  port: number
}
/** Where a stack listens and the id its client pins. */
export interface Endpoint extends Address {
  id: string
}
export type Endpoints = Record<StackName, Endpoint>

/** Counts this process's full (mark-compact) garbage collections from now on. */
export function countMajorGcs(): () => number {
  let major = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (
        (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR
      )
        major++
    }
  }).observe({ entryTypes: ['gc'] })
  return () => major
}

/** A transport on `engine` (the option is passed through; `transport.engine` says what ran). */
export function transportOn(
  engine: Engine,
  identity: Identity,
  trust: (id: string) => boolean,
  tuning: TransportTuning,
) {
  const options: Parameters<typeof createTransport>[0] & { engine?: Engine } = {
    identity,
    trust,
    ...tuning,
    engine,
  }
  return createTransport(options)
}

/** The engine a transport reports (`transport.engine`), or `matrixai` for a transport without the option. */
export const engineOf = (t: Transport): string =>
  (t as { engine?: string }).engine ?? 'matrixai (no engine option)'

// ------------------------------------------------------------------------------------ servers

/** A message channel server: first message picks the mode (sink: count and report; echo). */
export async function serveChannel(ch: MessageChannel): Promise<void> {
  try {
    const first = await ch.receive()
    if (first === undefined) return
    if (first[0] === MODE_SINK) {
      let bytes = 0
      let count = 0
      // all that one read delivered at once: the channel's API for a receiver of many messages
      for (let batch = await ch.receiveBatch(); batch !== undefined; batch = await ch.receiveBatch()) {
        for (const m of batch) bytes += m.byteLength
        count += batch.length
      }
      await ch.send(report(bytes, count))
      await ch.close()
    } else {
      for await (const m of ch) await ch.send(m)
      await ch.close()
    }
  } catch {
    // connection closed under us: fine for a benchmark server
  }
}

/** A message channel over a TLS socket, with the transport's own framing code. */
export function tlsChannel(socket: TLSSocket): MessageChannel {
  // minimal web-stream adapters: Duplex.toWeb's close waits for both directions to finish
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        socket.on('data', (chunk: Buffer) => {
          controller.enqueue(chunk)
          if ((controller.desiredSize ?? 1) <= 0) socket.pause()
        })
        socket.on('end', () => controller.close())
        socket.on('error', (e) => controller.error(e))
      },
      pull() {
        socket.resume()
      },
    },
    { highWaterMark: 4 },
  )
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve, reject) => {
        socket.write(chunk, (e) => (e ? reject(e) : resolve()))
      })
    },
    close() {
      socket.end()
    },
  })
  return createMessageChannel({ id: 0, readable, writable, reset: () => socket.destroy() })
}

export interface Servers {
  endpoints: Endpoints
  engines: Record<'peer-quinn' | 'peer-matrixai', string>
  close(): Promise<void>
}

/**
 * Starts the servers of `only` (default: all five) on `host`, trusting only the client identity
 * (`clientId` / `clientPeerId`). Endpoints and engines of stacks not started are absent / empty.
 */
export async function startServers(
  identity: Identity,
  client: { id: string; peerId: string },
  host: string,
  tuning: TransportTuning = {},
  only: readonly StackName[] = STACKS,
): Promise<Servers> {
  const closers: Array<() => Promise<void>> = []
  const endpoints: Partial<Endpoints> = {}
  const engines = { 'peer-quinn': '', 'peer-matrixai': '' }
  try {
    for (const stack of ['peer-quinn', 'peer-matrixai'] as const) {
      if (!only.includes(stack)) continue
      const transport = transportOn(ENGINE_OF[stack], identity, (id) => id === client.id, tuning)
      closers.push(() => transport.close())
      engines[stack] = engineOf(transport)
      const listener = await transport.listen({ host, port: 0 })
      listener.addEventListener('connection', ({ detail: { connection } }) => {
        void (async () => {
          for await (const ch of connection.channels()) void serveChannel(ch)
        })().catch(() => {})
      })
      endpoints[stack] = { ...listener.address, id: identity.id }
    }
    if (only.includes('raw-quinn')) {
      const quinn = startQuinnServer(identity, client.peerId, host, tuning, serveRaw)
      closers.push(() => quinn.close())
      endpoints['raw-quinn'] = { host, port: quinn.port, id: quinn.peerId }
    }
    if (only.includes('raw-matrixai')) {
      const matrixai = await startMatrixaiServer(identity, client.id, host, tuning, serveRaw)
      closers.push(() => matrixai.close())
      endpoints['raw-matrixai'] = { host, port: matrixai.port, id: identity.id }
    }
    if (only.includes('tls')) {
      const tls = await startTlsServer(identity, client.id, host)
      closers.push(tls.close)
      endpoints.tls = { host, port: tls.port, id: identity.id }
    }
  } catch (error) {
    await Promise.allSettled(closers.map((c) => c()))
    throw error
  }
  return {
    endpoints: endpoints as Endpoints,
    engines,
    async close() {
      await Promise.allSettled(closers.map((c) => c()))
    },
  }
}

async function startTlsServer(identity: Identity, clientId: string, host: string) {
  const sockets = new Set<TLSSocket>()
  const tls: Server = createTlsServer({
    key: identity.privateKeyPem,
    cert: identity.certificatePem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['peer/1'],
    allowHalfOpen: true,
  })
  tls.on('secureConnection', (socket: TLSSocket) => {
    socket.on('error', () => {})
    const cert = socket.getPeerX509Certificate()
    if (cert === undefined || nodeIdFromCertificate(cert.raw) !== clientId) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 5_000)
    void serveChannel(tlsChannel(socket))
  })
  tls.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => tls.listen(0, host, resolve))
  return {
    port: (tls.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => tls.close(() => resolve()))
    },
  }
}

// ------------------------------------------------------------------------------------ clients

/** One stream of a stack: a message channel, or a raw stream for the raw stacks. */
export type Pipe = { kind: 'channel'; ch: MessageChannel } | { kind: 'raw'; s: RawStream; mode: number }

/** One connection of a stack. */
export interface BenchConn {
  /** A raw stack: hand-framed writes instead of messages. */
  readonly raw: boolean
  /** A new channel (tls: a new socket, the first one is the one `connect` opened) or raw stream in `mode`. */
  pipe(mode: number): Promise<Pipe>
  close(): Promise<void>
}

export interface Clients {
  connect(stack: StackName, endpoint: Endpoint): Promise<BenchConn>
  engines: Record<'peer-quinn' | 'peer-matrixai', string>
  close(): Promise<void>
}

function rawBench(conn: RawConn): BenchConn {
  return {
    raw: true,
    async pipe(mode) {
      const s = await conn.open()
      await s.write(Uint8Array.of(mode))
      return { kind: 'raw', s, mode }
    },
    close: () => conn.close(),
  }
}

async function channelPipe(ch: MessageChannel, mode: number): Promise<Pipe> {
  await ch.send(Uint8Array.of(mode))
  return { kind: 'channel', ch }
}

/** Clients of `only` (default: all five stacks): no transport or dialer for the others. */
export function makeClients(
  identity: Identity,
  tuning: TransportTuning = {},
  only: readonly StackName[] = STACKS,
): Clients {
  const peer = (stack: 'peer-quinn' | 'peer-matrixai') =>
    only.includes(stack) ? transportOn(ENGINE_OF[stack], identity, () => false, tuning) : undefined
  const transports = { 'peer-quinn': peer('peer-quinn'), 'peer-matrixai': peer('peer-matrixai') }
  const quinn = only.includes('raw-quinn') ? quinnDialer(identity, tuning) : undefined
  const matrixai = only.includes('raw-matrixai') ? matrixaiDialer(identity, tuning) : undefined
  const missing = (stack: StackName) => new Error(`no client for ${stack} here`)
  /** A stack's client (made above when the stack is in `only`). */
  const need = <T>(client: T | undefined, stack: StackName): T => {
    if (client === undefined) throw missing(stack)
    return client
  }
  return {
    engines: {
      'peer-quinn': transports['peer-quinn'] === undefined ? '' : engineOf(transports['peer-quinn']),
      'peer-matrixai': transports['peer-matrixai'] === undefined ? '' : engineOf(transports['peer-matrixai']),
    },
    async connect(stack, endpoint) {
      if (!only.includes(stack)) throw missing(stack)
      if (stack === 'peer-quinn' || stack === 'peer-matrixai') {
        const conn = await need(transports[stack], stack).dial(endpoint, { expectedId: endpoint.id })
        return {
          raw: false,
          pipe: async (mode) => channelPipe(await conn.openChannel(), mode),
          close: async () => {
            await conn.close()
          },
        }
      }
      if (stack === 'raw-quinn') return rawBench(await need(quinn, stack).dial(endpoint, endpoint.id))
      if (stack === 'raw-matrixai') return rawBench(await need(matrixai, stack).dial(endpoint, endpoint.id))
      const sockets: TLSSocket[] = [await tlsDial(identity, endpoint)]
      let first = true
      return {
        raw: false,
        async pipe(mode) {
          if (first) first = false
          else sockets.push(await tlsDial(identity, endpoint))
          return channelPipe(tlsChannel(sockets.at(-1) as TLSSocket), mode)
        },
        async close() {
          await Promise.all(
            sockets.map(
              (s) =>
                new Promise<void>((resolve) => {
                  if (s.destroyed) resolve()
                  else s.once('close', () => resolve()).destroy()
                }),
            ),
          )
        },
      }
    },
    async close() {
      await Promise.allSettled([
        transports['peer-quinn']?.close(),
        transports['peer-matrixai']?.close(),
        quinn?.close(),
      ])
    },
  }
}

function tlsDial(identity: Identity, endpoint: Endpoint): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      key: identity.privateKeyPem,
      cert: identity.certificatePem,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['peer/1'],
      checkServerIdentity: () => undefined,
      allowHalfOpen: true,
    } as import('node:tls').ConnectionOptions)
    socket.once('error', reject)
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate()
      const id = cert === undefined ? undefined : nodeIdFromCertificate(cert.raw)
      if (id !== endpoint.id) {
        socket.destroy()
        reject(new Error(`pinning failed: expected ${endpoint.id}, got ${id}`))
        return
      }
      socket.off('error', reject)
      socket.on('error', () => {})
      socket.setNoDelay(true)
      socket.setKeepAlive(true, 5_000)
      resolve(socket)
    })
  })
}

/** The raw quinn peer id of a client identity (the server pins it). */
export const clientPins = (identity: Identity) => ({ id: identity.id, peerId: quinnKeyOf(identity).peerId })

export { readReport }

// The three stacks the transport benchmark compares, client and server halves:
// - `quic`: @peer/transport-quic (message channels);
// - `raw`: the QUIC engine through the transport's engine module only (same config, same pinning
//   callbacks), plain streams, no preamble, no channel layer, hand-framed writes;
// - `tls`: node:tls 1.3 over TCP with the same pinning (node id of the peer certificate) and the
//   same framing code (createMessageChannel over the socket's web streams).
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { createServer as createTlsServer, type Server, type TLSSocket, connect as tlsConnect } from 'node:tls'
import { silentLogger } from '@peer/discovery-core'
// the bench package does not depend on these packages: import their sources directly
import { type Identity, nodeIdFromCertificate } from '@peer/identity'
import {
  type Connection,
  createMessageChannel,
  createTransport,
  type MessageChannel,
  type Transport,
  type TransportTuning,
  tuningFor,
} from '@peer/transport-quic'
import type {
  EngineConnection,
  EngineContext,
  EngineStream,
} from '../../../packages/transport-quic/src/engine.js'
import { matrixaiEngine } from '../../../packages/transport-quic/src/engine-matrixai.js'

// the raw @matrixai stack: the transport's matrixai engine without the layers above it
const engineListen = matrixaiEngine.listen
const engineDial = matrixaiEngine.dial

import { applyEnginePatch, ENGINE_PATCH_ENV } from '../../../packages/transport-quic/src/engine-patch.js'

/** Which engine the run measured: with the transport's run-time hot-path patch, or as published. */
export function enginePatchNote(): string {
  const state = applyEnginePatch()
  return state.applied
    ? `engine: @matrixai/quic with the transport's run-time hot-path patch (set ${ENGINE_PATCH_ENV}=off to measure it unpatched)`
    : `engine: @matrixai/quic unpatched (${state.reason})`
}

export type { EngineConnection }

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
export type StackName = 'quic' | 'raw' | 'tls'
export const MODE_SINK = 0x53 // 'S'
export const MODE_ECHO = 0x45 // 'E'
export const MODE_FRAMES = 0x46 // 'F': walk u32 length-prefixed frames and count them

/** Counts u32 length-prefixed frames across chunk boundaries, without copying or delivering them. */
export class FrameCounter {
  count = 0
  #body = 0
  #header = 0
  #headerFill = 0
  push(chunk: Uint8Array): void {
    let at = 0
    const end = chunk.byteLength
    while (at < end) {
      if (this.#body > 0) {
        const take = Math.min(this.#body, end - at)
        this.#body -= take
        at += take
        if (this.#body === 0) this.count++
        continue
      }
      this.#header = this.#header * 256 + (chunk[at] as number)
      at++
      if (++this.#headerFill === 4) {
        this.#body = this.#header
        this.#header = 0
        this.#headerFill = 0
        if (this.#body === 0) this.count++
      }
    }
  }
}

export interface Address {
  host: string
  port: number
}

export function engineContext(identity: Identity, host: string, tuning: TransportTuning = {}): EngineContext {
  return {
    identity,
    tuning: tuningFor(host, tuning),
    logger: silentLogger('bench'),
    engineLogLevel: 'silent',
  }
}

// ------------------------------------------------------------------------------------ servers

/** A message channel server: first message picks the mode (sink: count and report; echo). */
export async function serveChannel(ch: MessageChannel): Promise<void> {
  try {
    const first = await ch.receive()
    if (first === undefined) return
    if (first[0] === MODE_SINK) {
      let bytes = 0
      let count = 0
      for await (const m of ch) {
        bytes += m.byteLength
        count++
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

/** A raw engine stream server: first byte picks the mode (sink: count bytes; echo: echo chunks). */
export async function serveRaw(stream: EngineStream): Promise<void> {
  const reader = stream.readable.getReader()
  const writer = stream.writable.getWriter()
  reader.closed.catch(() => {})
  writer.closed.catch(() => {})
  try {
    const first = await reader.read()
    if (first.done) return
    const mode = first.value[0]
    let bytes = first.value.byteLength - 1
    if (mode === MODE_SINK || mode === MODE_FRAMES) {
      const frames = new FrameCounter()
      if (mode === MODE_FRAMES) frames.push(first.value.subarray(1))
      for (;;) {
        const r = await reader.read()
        if (r.done) break
        bytes += r.value.byteLength
        if (mode === MODE_FRAMES) frames.push(r.value)
      }
      await writer.write(report(bytes, frames.count))
    } else {
      if (bytes > 0) await writer.write(first.value.subarray(1))
      for (;;) {
        const r = await reader.read()
        if (r.done) break
        await writer.write(r.value)
      }
    }
    await writer.close()
  } catch {
    // idem
  }
}

/** A new raw engine stream's writer and reader, after writing the server's mode byte. */
export async function rawStream(conn: EngineConnection, mode: number) {
  const s = await conn.openStream()
  const w = s.writable.getWriter()
  const r = s.readable.getReader()
  await w.write(Uint8Array.of(mode))
  return { w, r }
}

export function report(bytes: number, count: number): Uint8Array {
  const b = Buffer.alloc(16)
  b.writeDoubleBE(bytes, 0)
  b.writeDoubleBE(count, 8)
  return b
}

export function readReport(b: Uint8Array): { bytes: number; count: number } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return { bytes: buf.readDoubleBE(0), count: buf.readDoubleBE(8) }
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
  quic: Address
  raw: Address
  tls: Address
  transport: Transport
  close(): Promise<void>
}

/** Starts the three servers on `host`, trusting only `clientId`. */
export async function startServers(
  identity: Identity,
  clientId: string,
  host: string,
  tuning: TransportTuning = {},
): Promise<Servers> {
  const transport = createTransport({ identity, trust: (id) => id === clientId, ...tuning })
  const listener = await transport.listen({ host, port: 0 })
  listener.addEventListener('connection', ({ detail: { connection } }) => {
    void (async () => {
      for await (const ch of connection.channels()) void serveChannel(ch)
    })()
  })

  const raw = await engineListen(
    engineContext(identity, host, tuning),
    { host, port: 0 },
    async (id) => id === clientId,
  )
  const rawConnections = new Set<EngineConnection>()
  raw.onConnection = (conn) => {
    rawConnections.add(conn)
    void conn.closed.then(() => rawConnections.delete(conn))
    conn.onStream = (s) => void serveRaw(s)
  }

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
    socket.setNoDelay(true)
    void serveChannel(tlsChannel(socket))
  })
  tls.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => tls.listen(0, host, resolve))
  const tlsPort = (tls.address() as { port: number }).port

  return {
    quic: listener.address,
    raw: raw.address,
    tls: { host, port: tlsPort },
    transport,
    async close() {
      await transport.close()
      await Promise.all([...rawConnections].map((c) => c.close(0, 'bench done')))
      await raw.stop('bench done')
      await new Promise<void>((resolve) => tls.close(() => resolve()))
    },
  }
}

// ------------------------------------------------------------------------------------ clients

export interface Clients {
  quic(address: Address, expectedId: string): Promise<Connection>
  raw(address: Address, expectedId: string): Promise<EngineConnection>
  tls(address: Address, expectedId: string): Promise<TLSSocket>
  transport: Transport
}

export function makeClients(identity: Identity, tuning: TransportTuning = {}): Clients {
  const transport = createTransport({ identity, trust: () => false, ...tuning })
  return {
    transport,
    quic: (address, expectedId) => transport.dial(address, { expectedId }),
    raw: (address, expectedId) =>
      engineDial(engineContext(identity, address.host, tuning), address, expectedId, undefined),
    tls: (address, expectedId) =>
      new Promise<TLSSocket>((resolve, reject) => {
        const socket = tlsConnect({
          host: address.host,
          port: address.port,
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
          if (id !== expectedId) {
            socket.destroy()
            reject(new Error(`pinning failed: expected ${expectedId}, got ${id}`))
            return
          }
          socket.off('error', reject)
          socket.on('error', () => {})
          socket.setNoDelay(true)
          resolve(socket)
        })
      }),
  }
}

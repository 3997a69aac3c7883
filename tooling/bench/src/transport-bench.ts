// The measurements of `pnpm bench transport` (client half). See suites/transport.ts.
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import type { MessageChannel } from '@peer/transport-quic'
import type { Measurement } from './report.js'
import {
  type Address,
  enginePatchNote,
  MODE_ECHO,
  MODE_SINK,
  makeClients,
  readReport,
  tlsChannel,
} from './transport-stacks.js'

interface Started {
  id: string
  quic: Address
  raw: Address
  tls: Address
}

const HOST = '127.0.0.1'
const SERVER_FILE = fileURLToPath(new URL('./transport-server.ts', import.meta.url))
const KiB = 1024
const MiB = 1024 * 1024

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}

type Stack = 'quic' | 'raw' | 'tls'
const STACKS: readonly Stack[] = ['quic', 'raw', 'tls']

/**
 * Runs every stack once unmeasured (`warm`: JIT, congestion window, buffer pools on both ends),
 * then `runs` rounds of all three, interleaved, with the order rotated each round. Measuring one
 * stack's runs back to back and then the next (the old way) let the first stack pay for cold code
 * and let load changes on the shared machine fall on one stack only. Returns every stack's values
 * and the per-round ratios of quic and tls against raw (measured seconds apart).
 */
async function interleaved(
  runs: number,
  warm: (stack: Stack) => Promise<unknown>,
  measure: (stack: Stack) => Promise<number>,
): Promise<{ values: Record<Stack, number[]>; ratios: Record<'quic' | 'tls', number[]> }> {
  for (const stack of STACKS) await warm(stack)
  const values: Record<Stack, number[]> = { quic: [], raw: [], tls: [] }
  const ratios: Record<'quic' | 'tls', number[]> = { quic: [], tls: [] }
  for (let round = 0; round < runs; round++) {
    const got: Partial<Record<Stack, number>> = {}
    for (let i = 0; i < STACKS.length; i++) {
      const stack = STACKS[(round + i) % STACKS.length] as Stack
      const v = await measure(stack)
      got[stack] = v
      values[stack].push(v)
    }
    ratios.quic.push((got.quic ?? 0) / (got.raw ?? 1))
    ratios.tls.push((got.tls ?? 0) / (got.raw ?? 1))
  }
  return { values, ratios }
}

const fmtList = (values: number[], digits = 0) => values.map((v) => v.toFixed(digits)).join(' / ')

export async function runTransportBench(options: {
  child: RpcChild
  identity: Identity
  quick: boolean
  measurements: Measurement[]
}): Promise<string[]> {
  const { child, identity, quick, measurements: m } = options
  const log = (line: string) => process.stderr.write(`  ${line}\n`)
  const started = await child.call<Started>(
    'start',
    { clientId: identity.id, host: HOST },
    { timeoutMs: 60_000 },
  )
  const clients = makeClients(identity)
  const runs = quick ? 1 : 3
  const bulkBytes = quick ? 32 * MiB : 128 * MiB
  const messages = quick ? 200_000 : 1_000_000
  const warmBytes = 16 * MiB
  const warmMessages = 100_000
  const requests = quick ? 1_000 : 5_000
  const connects = quick ? 20 : 100
  const idle = quick ? 50 : 200

  const quicConn = await clients.quic(started.quic, started.id)
  const rawConn = await clients.raw(started.raw, started.id)
  const tlsSockets: import('node:tls').TLSSocket[] = []

  // measured in fresh processes (a new server and a new client per stack), so what earlier tests
  // allocated and freed does not blur the deltas; each client warms up with 5 connections first
  // ------------------------------------------------------------------ RSS per idle connection
  for (const stack of ['quic', 'raw', 'tls'] as const) {
    const server = await spawnChild(SERVER_FILE)
    const client = await spawnChild(SERVER_FILE)
    try {
      const s = await server.call<Started>(
        'start',
        { clientId: identity.id, host: HOST },
        { timeoutMs: 60_000 },
      )
      const serverBefore = await server.call<number>('rss')
      const r = await client.call<{ before: number; after: number; held: number }>(
        'idle',
        {
          stack,
          n: idle,
          address: s[stack],
          expectedId: s.id,
          clientPem: { privateKeyPem: identity.privateKeyPem, certificatePem: identity.certificatePem },
        },
        { timeoutMs: 120_000 },
      )
      const serverAfter = await server.call<number>('rss')
      const perClient = (r.after - r.before) / idle / KiB
      const perServer = (serverAfter - serverBefore) / idle / KiB
      log(
        `rss per idle connection ${stack}: client ${perClient.toFixed(0)} KiB, server ${perServer.toFixed(0)} KiB`,
      )
      m.push({
        name: `RSS per idle connection, server ${stack}`,
        value: perServer,
        unit: 'KiB',
        ...(stack !== 'raw' ? { baseline: 'RSS per idle connection, server raw' } : {}),
        notes: `${idle} connections, fresh processes`,
      })
      m.push({
        name: `RSS per idle connection, client ${stack}`,
        value: perClient,
        unit: 'KiB',
        ...(stack !== 'raw' ? { baseline: 'RSS per idle connection, client raw' } : {}),
      })
    } finally {
      await Promise.allSettled([client.close(), server.close()])
    }
  }

  // ------------------------------------------------------------------ bulk
  // quic and tls run the same code over a message channel; only opening the channel differs
  const openChannel = async (stack: 'quic' | 'tls'): Promise<MessageChannel> => {
    if (stack === 'quic') return quicConn.openChannel()
    const socket = await clients.tls(started.tls, started.id)
    tlsSockets.push(socket)
    return tlsChannel(socket)
  }
  const block = Buffer.alloc(64 * KiB, 7)
  const channelBulk = (stack: 'quic' | 'tls') => async (bytes: number) => {
    const ch = await openChannel(stack)
    await ch.send(Uint8Array.of(MODE_SINK))
    const t = performance.now()
    for (let sent = 0; sent < bytes; sent += block.byteLength) await ch.send(block)
    await ch.close()
    const r = readReport((await ch.receive())!)
    if (r.bytes !== bytes) throw new Error(`${stack} bulk: server got ${r.bytes} of ${bytes} bytes`)
    return bytes / ((performance.now() - t) / 1000) / 1e6
  }
  const bulk = {
    quic: channelBulk('quic'),
    raw: async (bytes: number) => {
      const s = rawConn.openStream()
      const w = s.writable.getWriter()
      const r = s.readable.getReader()
      await w.write(Uint8Array.of(MODE_SINK))
      const t = performance.now()
      for (let sent = 0; sent < bytes; sent += block.byteLength) await w.write(block)
      await w.close()
      const got = await r.read()
      if (got.done || readReport(got.value).bytes !== bytes) throw new Error('raw bulk: short')
      return bytes / ((performance.now() - t) / 1000) / 1e6
    },
    tls: channelBulk('tls'),
  }
  const bulkRuns = await interleaved(
    runs,
    (stack) => bulk[stack](warmBytes),
    (stack) => bulk[stack](bulkBytes),
  )
  for (const stack of STACKS) {
    const v = median(bulkRuns.values[stack])
    log(`bulk ${stack}: ${v.toFixed(1)} MB/s (runs ${fmtList(bulkRuns.values[stack], 1)})`)
    m.push({
      name: `bulk ${stack}`,
      value: v,
      unit: 'MB/s',
      ...(stack === 'quic'
        ? { baseline: 'bulk raw', target: '>= 60' }
        : stack === 'tls'
          ? { baseline: 'bulk raw' }
          : {}),
      notes: `${bulkBytes / MiB} MiB in 64 KiB ${stack === 'raw' ? 'writes' : 'messages'}; runs ${fmtList(bulkRuns.values[stack], 1)}`,
    })
  }
  for (const stack of ['quic', 'tls'] as const) {
    const r = bulkRuns.ratios[stack]
    log(`bulk ${stack} / raw per round: ${fmtList(r, 2)} (median ${median(r).toFixed(2)})`)
    m.push({
      name: `bulk ${stack} / raw, median of per-round ratios`,
      value: median(r),
      unit: 'x',
      ...(stack === 'quic' ? { target: '>= 0.90' } : {}),
      notes: `rounds ${fmtList(r, 2)}`,
    })
  }

  // ------------------------------------------------------------------ 64-byte messages
  const small = Buffer.alloc(64, 1)
  // the raw engine gets the messages pre-framed into 64 KiB writes: an upper bound for any layer
  const perWrite = Math.floor((64 * KiB) / 68)
  const framed = Buffer.alloc(perWrite * 68)
  for (let i = 0; i < perWrite; i++) framed.writeUInt32BE(64, i * 68)
  const channelRate = (stack: 'quic' | 'tls') => async (count: number) => {
    const ch = await openChannel(stack)
    await ch.send(Uint8Array.of(MODE_SINK))
    const t = performance.now()
    for (let i = 0; i < count; i++) await ch.send(small)
    await ch.close()
    const r = readReport((await ch.receive())!)
    if (r.count !== count) throw new Error(`${stack} messages: server got ${r.count}`)
    return count / ((performance.now() - t) / 1000)
  }
  const rate = {
    quic: channelRate('quic'),
    raw: async (count: number) => {
      const s = rawConn.openStream()
      const w = s.writable.getWriter()
      const r = s.readable.getReader()
      await w.write(Uint8Array.of(MODE_SINK))
      const writes = Math.ceil(count / perWrite)
      const t = performance.now()
      for (let i = 0; i < writes; i++) await w.write(framed)
      await w.close()
      const got = await r.read()
      if (got.done || readReport(got.value).bytes !== writes * framed.byteLength)
        throw new Error('raw rate: short')
      return (writes * perWrite) / ((performance.now() - t) / 1000)
    },
    tls: channelRate('tls'),
  }
  const rateRuns = await interleaved(
    runs,
    (stack) => rate[stack](warmMessages),
    (stack) => rate[stack](messages),
  )
  for (const stack of STACKS) {
    const v = median(rateRuns.values[stack])
    log(`messages ${stack}: ${Math.round(v)} msg/s (runs ${fmtList(rateRuns.values[stack])})`)
    m.push({
      name: `64 B messages ${stack}`,
      value: v,
      unit: 'msg/s',
      ...(stack === 'quic'
        ? { baseline: '64 B messages raw', target: '>= 300,000' }
        : stack === 'tls'
          ? { baseline: '64 B messages raw' }
          : {}),
      notes:
        stack === 'raw'
          ? 'pre-framed into 64 KiB writes, receiver counts bytes (upper bound)'
          : `${messages.toLocaleString('en-US')} x send(64 B), receiver parses frames`,
    })
  }

  // ------------------------------------------------------------------ request/response latency
  const request = Buffer.alloc(64, 2)
  const rawRequest = Buffer.alloc(68, 2)
  rawRequest.writeUInt32BE(64, 0)
  const latency = {
    quic: async () => {
      const ch = await quicConn.openChannel()
      await ch.send(Uint8Array.of(MODE_ECHO))
      const samples: number[] = []
      for (let i = 0; i < requests; i++) {
        const t = performance.now()
        await ch.send(request)
        await ch.receive()
        samples.push((performance.now() - t) * 1000)
      }
      await ch.close()
      return samples
    },
    raw: async () => {
      const s = rawConn.openStream()
      const w = s.writable.getWriter()
      const r = s.readable.getReader()
      await w.write(Uint8Array.of(MODE_ECHO))
      const samples: number[] = []
      for (let i = 0; i < requests; i++) {
        const t = performance.now()
        await w.write(rawRequest)
        let got = 0
        while (got < rawRequest.byteLength) {
          const c = await r.read()
          if (c.done) throw new Error('raw echo ended')
          got += c.value.byteLength
        }
        samples.push((performance.now() - t) * 1000)
      }
      await w.close()
      return samples
    },
    tls: async () => {
      const socket = await clients.tls(started.tls, started.id)
      tlsSockets.push(socket)
      const ch = tlsChannel(socket)
      await ch.send(Uint8Array.of(MODE_ECHO))
      const samples: number[] = []
      for (let i = 0; i < requests; i++) {
        const t = performance.now()
        await ch.send(request)
        await ch.receive()
        samples.push((performance.now() - t) * 1000)
      }
      socket.end()
      return samples
    },
  }
  for (const stack of ['quic', 'raw', 'tls'] as const) {
    const all: number[] = []
    for (let i = 0; i < runs; i++) all.push(...(await latency[stack]()))
    all.sort((a, b) => a - b)
    const p50 = percentile(all, 0.5)
    const p99 = percentile(all, 0.99)
    log(`latency ${stack}: p50 ${p50.toFixed(0)} us, p99 ${p99.toFixed(0)} us`)
    m.push({
      name: `request/response p50 ${stack}`,
      value: p50,
      unit: 'us',
      ...(stack === 'quic' ? { baseline: 'request/response p50 raw', target: '<= 500' } : {}),
      ...(stack === 'tls' ? { baseline: 'request/response p50 raw' } : {}),
      notes: `${(requests * runs).toLocaleString('en-US')} sequential 64 B echoes on one stream`,
    })
    m.push({
      name: `request/response p99 ${stack}`,
      value: p99,
      unit: 'us',
      ...(stack !== 'raw' ? { baseline: 'request/response p99 raw' } : {}),
    })
  }

  // ------------------------------------------------------------------ connect time
  const connect = {
    quic: async () => {
      const t = performance.now()
      const c = await clients.quic(started.quic, started.id)
      const ms = performance.now() - t
      await c.close()
      return ms
    },
    raw: async () => {
      const t = performance.now()
      const c = await clients.raw(started.raw, started.id)
      const ms = performance.now() - t
      await c.close(0, 'done')
      return ms
    },
    tls: async () => {
      const t = performance.now()
      const s = await clients.tls(started.tls, started.id)
      const ms = performance.now() - t
      s.destroy()
      return ms
    },
  }
  for (const stack of ['quic', 'raw', 'tls'] as const) {
    const samples: number[] = []
    for (let i = 0; i < connects; i++) samples.push(await connect[stack]())
    samples.sort((a, b) => a - b)
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    log(`connect ${stack}: mean ${mean.toFixed(2)} ms, p99 ${percentile(samples, 0.99).toFixed(2)} ms`)
    m.push({
      name: `connect mean ${stack}`,
      value: mean,
      unit: 'ms',
      ...(stack !== 'raw' ? { baseline: 'connect mean raw' } : {}),
      notes: `${connects} dials incl. mutual TLS and pinning; p50 ${percentile(samples, 0.5).toFixed(2)} ms, p99 ${percentile(samples, 0.99).toFixed(2)} ms`,
    })
  }

  for (const s of tlsSockets) s.destroy()
  await quicConn.close()
  await rawConn.close(0, 'done')
  await clients.transport.close()
  return [
    `client and server in separate processes on loopback (${cpus().length} cores shared with everything else on the machine); bulk and message rates: one unmeasured warm-up per stack, then the median of ${runs} interleaved round(s) (quic, raw, tls in an order rotated each round); quic / raw ratios are also given per round`,
    enginePatchNote(),
    'raw = the QUIC engine through src/engine.ts only (same tuning, same mTLS pinning callbacks): plain streams, no preamble, no channel layer',
    'tls = node:tls 1.3 over TCP, same pinning (node id of the peer certificate), same framing code (createMessageChannel over the socket)',
  ]
}

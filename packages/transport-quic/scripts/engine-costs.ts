// Idle and close costs per engine, against the quinn binding used directly (interleaved rounds,
// one process, loopback). Not a test: a measurement to read.
//   pnpm exec tsx --conditions=@peer/source packages/transport-quic/scripts/engine-costs.ts [connections] [seconds]
import { loadavg } from 'node:os'
import { generateIdentity, type Identity } from '@peer/identity'
import { type Connection, createTransport, type EngineName } from '../src/index.js'
import type { QuinnConnection } from '../src/quinn-binding.js'
import { rawPair } from './raw-pair.js'

const N = Number(process.argv[2] ?? 100)
const SECONDS = Number(process.argv[3] ?? 10)
const KEEPALIVE_MS = 1000
const IDLE_MS = 30_000

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

async function idleCpu(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000)) // settle after the connects
  const start = cpuMs()
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  return (cpuMs() - start) / SECONDS // ms of CPU per second
}

interface Result {
  idleMsPerS: number
  closeOneMs: number
  closeAllMs: number
}

async function raw(a: Identity, b: Identity): Promise<Result> {
  const { server, client } = rawPair(a, b, { keepAliveMs: KEEPALIVE_MS, idleMs: IDLE_MS })
  const conns: QuinnConnection[] = []
  for (let i = 0; i < N + 1; i++) conns.push(await client.outboundConnection('127.0.0.1', server.port()))
  const idleMsPerS = await idleCpu()
  const one = conns.pop() as QuinnConnection
  let t = performance.now()
  one.abort()
  await one.closed()
  const closeOneMs = performance.now() - t
  t = performance.now()
  for (const c of conns) c.abort()
  await Promise.all(conns.map((c) => c.closed()))
  const closeAllMs = performance.now() - t
  client.abort()
  await server.abort()
  return { idleMsPerS, closeOneMs, closeAllMs }
}

async function ours(engine: EngineName, a: Identity, b: Identity): Promise<Result> {
  const tuning = { keepAliveIntervalMs: KEEPALIVE_MS, maxIdleTimeoutMs: IDLE_MS }
  const server = createTransport({ identity: a, trust: () => true, engine, ...tuning })
  const client = createTransport({ identity: b, trust: () => true, engine, ...tuning })
  if (server.engine !== engine) throw new Error(`engine ${engine} did not load`)
  const listener = await server.listen({ host: '127.0.0.1', port: 0 })
  const conns: Connection[] = []
  for (let i = 0; i < N + 1; i++) conns.push(await client.dial(listener.address, { expectedId: a.id }))
  const idleMsPerS = await idleCpu()
  const one = conns.pop() as Connection
  let t = performance.now()
  await one.close('one')
  const closeOneMs = performance.now() - t
  t = performance.now()
  await Promise.all(conns.map((c) => c.close('all')))
  const closeAllMs = performance.now() - t
  await client.close()
  await server.close()
  return { idleMsPerS, closeOneMs, closeAllMs }
}

const [a, b] = (await Promise.all([generateIdentity(), generateIdentity()])) as [Identity, Identity]
const rows: Record<string, Result[]> = { raw: [], quinn: [], matrixai: [] }
console.log(
  `${N} idle connections, keepalive ${KEEPALIVE_MS} ms, ${SECONDS} s windows; load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
)
for (let round = 0; round < 2; round++) {
  rows.raw?.push(await raw(a, b))
  rows.quinn?.push(await ours('quinn', a, b))
  rows.matrixai?.push(await ours('matrixai', a, b))
  console.log(
    `round ${round + 1} done; load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number
const rawIdle = median((rows.raw ?? []).map((r) => r.idleMsPerS))
for (const [name, results] of Object.entries(rows)) {
  const idle = median(results.map((r) => r.idleMsPerS))
  console.log(
    `${name.padEnd(9)} idle CPU ${(idle / N).toFixed(4)} ms/s per connection (${(idle / N / (1000 / KEEPALIVE_MS)).toFixed(4)} ms per keepalive interval; ${(idle / rawIdle).toFixed(2)}x raw)` +
      `  close one ${median(results.map((r) => r.closeOneMs)).toFixed(2)} ms, close ${N} in parallel ${median(results.map((r) => r.closeAllMs)).toFixed(2)} ms`,
  )
}
process.exit(0)

// CPU per connection set up (both ends in one process, loopback), the quinn binding used directly
// against our transport on the quinn engine, in interleaved rounds; CPU of the whole process and per
// thread kind (main: JavaScript; node: V8's helper threads, mostly GC; tokio-rt-worker: the
// binding's runtime). Not a test: a measurement to read.
//   pnpm exec tsx --conditions=@peer/source packages/transport-quic/scripts/connect-costs.ts [connections] [rounds]
// Environment: PAR (dials in flight at once, default 1), ONLY=raw|ours (one side only).
import { loadavg } from 'node:os'
import { generateIdentity, type Identity } from '@peer/identity'
import { type Connection, createTransport } from '../src/index.js'
import type { QuinnConnection } from '../src/quinn-binding.js'
import { rawPair } from './raw-pair.js'

const N = Number(process.argv[2] ?? 200)
const ROUNDS = Number(process.argv[3] ?? 3)
const PAR = Number(process.env.PAR ?? 1)

import { readdirSync, readFileSync } from 'node:fs'

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
function threads(): Map<string, number> {
  const out = new Map<string, number>()
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ms = ((Number(f[11]) + Number(f[12])) * 1000) / 100
      const k = Number(t) === process.pid ? 'main' : comm
      out.set(k, (out.get(k) ?? 0) + ms)
    } catch {}
  }
  return out
}
const perThread = new Map<string, Map<string, number[]>>()
function record(stack: string, before: Map<string, number>, n: number) {
  const after = threads()
  const m = perThread.get(stack) ?? new Map<string, number[]>()
  perThread.set(stack, m)
  for (const [k, v] of after) {
    const arr = m.get(k) ?? []
    arr.push((v - (before.get(k) ?? 0)) / n)
    m.set(k, arr)
  }
}
async function inBatches(n: number, f: () => Promise<void>) {
  for (let i = 0; i < n; i += PAR) await Promise.all(Array.from({ length: Math.min(PAR, n - i) }, f))
}
async function raw(a: Identity, b: Identity) {
  const { server, client, inbound } = rawPair(a, b, { keepAliveMs: 5000, idleMs: 30_000 })
  const conns: QuinnConnection[] = []
  await new Promise((r) => setTimeout(r, 200))
  const th = threads()
  const c0 = cpuMs()
  const t0 = performance.now()
  await inBatches(N, async () => {
    conns.push(await client.outboundConnection('127.0.0.1', server.port()))
  })
  while (inbound.length < N) await new Promise((r) => setImmediate(r))
  const r = { cpu: (cpuMs() - c0) / N, wall: (performance.now() - t0) / N }
  record('raw', th, N)
  for (const c of conns) c.abort()
  client.abort()
  await server.abort()
  return r
}
async function ours(a: Identity, b: Identity) {
  const server = createTransport({ identity: a, trust: () => true, engine: 'quinn' })
  const client = createTransport({ identity: b, trust: () => true, engine: 'quinn' })
  const listener = await server.listen({ host: '127.0.0.1', port: 0 })
  let accepted = 0
  listener.addEventListener('connection', () => accepted++)
  const conns: Connection[] = []
  await new Promise((r) => setTimeout(r, 200))
  const th = threads()
  const c0 = cpuMs()
  const t0 = performance.now()
  await inBatches(N, async () => {
    conns.push(await client.dial(listener.address, { expectedId: a.id }))
  })
  while (accepted < N) await new Promise((r) => setImmediate(r))
  const r = { cpu: (cpuMs() - c0) / N, wall: (performance.now() - t0) / N }
  record('ours', th, N)
  await client.close()
  await server.close()
  return r
}
const [a, b] = (await Promise.all([generateIdentity(), generateIdentity()])) as [Identity, Identity]
const only = process.env.ONLY
console.log(
  `N=${N} PAR=${PAR} load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
const rows: Record<string, Array<{ cpu: number; wall: number }>> = { raw: [], ours: [] }
await raw(a, b)
await ours(a, b)
for (let i = 0; i < ROUNDS; i++) {
  if (only !== 'ours') rows.raw!.push(await raw(a, b))
  if (only !== 'raw') rows.ours!.push(await ours(a, b))
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN
for (const [k, v] of Object.entries(rows))
  console.log(
    `${k.padEnd(5)} cpu ${med(v.map((x) => x.cpu)).toFixed(3)} ms/conn  wall ${med(v.map((x) => x.wall)).toFixed(3)} ms/conn  [${v.map((x) => x.cpu.toFixed(2)).join(' ')}]`,
  )
for (const [stack, m] of perThread)
  console.log(
    stack,
    [...m]
      .filter(([, v]) => med(v) > 0.005)
      .map(([k, v]) => `${k}=${med(v).toFixed(3)}`)
      .join(' '),
  )
console.log(
  `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
)
process.exit(0)

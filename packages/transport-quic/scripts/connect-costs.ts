// CPU per connection set up (both ends in one process, loopback), the quinn binding used directly
// against our transport on the quinn engine, in interleaved rounds; CPU of the whole process and per
// thread kind (main: JavaScript; node: V8's helper threads, mostly GC; tokio-rt-worker: the
// binding's runtime). Not a test: a measurement to read.
//   pnpm exec tsx --conditions=@peer/source packages/transport-quic/scripts/connect-costs.ts [connections] [rounds]
// Environment: PAR (dials in flight at once, default 1), ONLY=raw|ours (one side only).
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { generateIdentity, type Identity } from '@peer/identity'
import { type Connection, createTransport } from '../src/index.js'
import type { QuinnConnection } from '../src/quinn-binding.js'
import { rawPair } from './raw-pair.js'

const N = Number(process.argv[2] ?? 200)
const ROUNDS = Number(process.argv[3] ?? 3)
const PAR = Number(process.env.PAR ?? 1)

/** One round's figures, per connection (ms). */
interface Round {
  cpu: number
  wall: number
  /** CPU per thread kind (main, node, tokio-rt-worker, ...). */
  threads: Map<string, number>
}

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** CPU ms so far per thread kind (the main thread as `main`, the others by name). */
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

/** Sets up N connections with `dialOne`, PAR at a time, until the server side has `accepted()` N. */
async function measureConnects(dialOne: () => Promise<void>, accepted: () => number): Promise<Round> {
  await new Promise((r) => setTimeout(r, 200)) // settle after the endpoints' start
  const before = threads()
  const c0 = cpuMs()
  const t0 = performance.now()
  for (let i = 0; i < N; i += PAR) await Promise.all(Array.from({ length: Math.min(PAR, N - i) }, dialOne))
  while (accepted() < N) await new Promise((r) => setImmediate(r))
  const cpu = (cpuMs() - c0) / N
  const wall = (performance.now() - t0) / N
  const perThread = new Map([...threads()].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / N]))
  return { cpu, wall, threads: perThread }
}

async function raw(a: Identity, b: Identity): Promise<Round> {
  const { server, client, inbound } = rawPair(a, b, { keepAliveMs: 5000, idleMs: 30_000 })
  const conns: QuinnConnection[] = []
  const round = await measureConnects(
    async () => {
      conns.push(await client.outboundConnection('127.0.0.1', server.port()))
    },
    () => inbound.length,
  )
  for (const c of conns) c.abort()
  client.abort()
  await server.abort()
  return round
}

async function ours(a: Identity, b: Identity): Promise<Round> {
  const server = createTransport({ identity: a, trust: () => true, engine: 'quinn' })
  const client = createTransport({ identity: b, trust: () => true, engine: 'quinn' })
  const listener = await server.listen({ host: '127.0.0.1', port: 0 })
  let accepted = 0
  listener.addEventListener('connection', () => accepted++)
  const conns: Connection[] = []
  const round = await measureConnects(
    async () => {
      conns.push(await client.dial(listener.address, { expectedId: a.id }))
    },
    () => accepted,
  )
  await client.close()
  await server.close()
  return round
}

const loads = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const [a, b] = (await Promise.all([generateIdentity(), generateIdentity()])) as [Identity, Identity]
const only = process.env.ONLY
console.log(`N=${N} PAR=${PAR} load ${loads()}`)
const rows: Record<'raw' | 'ours', Round[]> = { raw: [], ours: [] }
// one untimed round each first (code loaded, endpoints warmed)
await raw(a, b)
await ours(a, b)
for (let i = 0; i < ROUNDS; i++) {
  if (only !== 'ours') rows.raw.push(await raw(a, b))
  if (only !== 'raw') rows.ours.push(await ours(a, b))
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN
for (const [stack, rounds] of Object.entries(rows)) {
  if (rounds.length === 0) continue
  const kinds = new Set(rounds.flatMap((r) => [...r.threads.keys()]))
  const perThread = [...kinds]
    .map((k) => [k, med(rounds.map((r) => r.threads.get(k) ?? 0))] as const)
    .filter(([, ms]) => ms > 0.005)
    .map(([k, ms]) => `${k}=${ms.toFixed(3)}`)
    .join(' ')
  console.log(
    `${stack.padEnd(5)} cpu ${med(rounds.map((r) => r.cpu)).toFixed(3)} ms/conn  wall ${med(rounds.map((r) => r.wall)).toFixed(3)} ms/conn  [${rounds.map((r) => r.cpu.toFixed(2)).join(' ')}]  ${perThread}`,
  )
}
console.log(`load ${loads()}`)
process.exit(0)

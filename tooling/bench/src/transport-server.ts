// A child process of `pnpm bench transport` (optionally inside a network namespace): the server
// half of the stacks of transport-stacks.ts it is given, or a client role (the loopback runs, the
// idle-connection figures and the veth path), with CPU, RSS and GC counters on request. The
// loopback phase gives each stack a server child and a client child of its own, as users run one
// stack per process.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateIdentity, identityFromPem } from '@peer/identity'
import { serveRpc } from '@peer/testkit/child-process'
import type { TransportTuning } from '@peer/transport-quic'
import { CpuMeter } from './bench-stats.js'
import { bulk, echo, messages } from './stack-ops.js'
import type { LoopOp } from './transport-pairs.js'
import {
  type BenchConn,
  type Clients,
  countMajorGcs,
  type Endpoint,
  makeClients,
  type Servers,
  type StackName,
  startServers,
} from './transport-stacks.js'

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void
let servers: Servers | undefined
let clients: Clients | undefined
let held: BenchConn[] = []
/** The client role's connection for the loopback runs (`open` / `warm` / `run` / `closeConn`). */
let current: BenchConn | undefined

/** One operation on `conn`: `n` bytes (bulk, in messages of `messageBytes`), messages or echoes. */
async function loopOp(
  conn: BenchConn,
  op: LoopOp,
  n: number,
  messageBytes: number | undefined,
  meter?: CpuMeter,
  samples?: number[],
): Promise<number | undefined> {
  if (op === 'bulk') return bulk(conn, n, meter, messageBytes)
  if (op === 'messages') return messages(conn, n, meter)
  await meter?.begin()
  await echo(conn, n, samples)
  await meter?.end()
  return undefined
}
/** Counts full collections once this child serves (only servers are asked; clients run without an observer). */
let majorGcs: (() => number) | undefined
const settle = async () => {
  gc()
  await new Promise((r) => setTimeout(r, 300))
  gc()
}

interface ClientParams {
  stack: StackName
  endpoint: Endpoint
}

serveRpc(
  {
    async start(params: {
      client: { id: string; peerId: string }
      host: string
      tuning?: TransportTuning
      stacks?: StackName[]
    }) {
      majorGcs ??= countMajorGcs()
      const identity = await generateIdentity()
      servers = await startServers(identity, params.client, params.host, params.tuning ?? {}, params.stacks)
      return { endpoints: servers.endpoints, engines: servers.engines }
    },
    /** Client role: the client identity (PEM) and tuning for the calls below. */
    clientStart(params: {
      pem: { privateKeyPem: string; certificatePem: string }
      tuning?: TransportTuning
      stacks?: StackName[]
    }) {
      clients = makeClients(identityFromPem(params.pem), params.tuning ?? {}, params.stacks)
      return clients.engines
    },
    /** Client role: opens the connection the next `warm` / `run` calls use (transport-pairs.ts). */
    async open(params: ClientParams) {
      await current?.close()
      current = undefined
      current = await need(clients).connect(params.stack, params.endpoint)
    },
    /** Client role: untimed work on the open connection. */
    async warm(params: { op: LoopOp; n: number; messageBytes?: number }) {
      await loopOp(need(current), params.op, params.n, params.messageBytes)
    },
    /**
     * Client role: one timed run on the open connection; `value` is MB/s (bulk), msg/s (messages)
     * or undefined (echo: `samples` in us); `cpuUs` is this process's CPU time in it.
     */
    async run(params: { op: LoopOp; n: number; messageBytes?: number }) {
      const samples: number[] = []
      const meter = new CpuMeter(undefined)
      const value = await loopOp(need(current), params.op, params.n, params.messageBytes, meter, samples)
      return { value, cpuUs: meter.us, samples }
    },
    /** Client role: closes the open connection. */
    async closeConn() {
      await current?.close()
      current = undefined
    },
    /** Client role, loopback: dials once, closes; the dial's wall-clock time in ms. */
    async connectOnce(params: ClientParams) {
      const t = performance.now()
      const conn = await need(clients).connect(params.stack, params.endpoint)
      const ms = performance.now() - t
      await conn.close()
      return ms
    },
    /** Client role, loopback: dials, leaves an echo stream open, then closes; the close's time in ms. */
    async closeInUse(params: ClientParams) {
      const conn = await need(clients).connect(params.stack, params.endpoint)
      await echo(conn, 1, undefined, true) // the stream stays open: a node link's lanes do
      const t = performance.now()
      await conn.close()
      return performance.now() - t
    },
    /** Client role: opens `n` idle connections of one stack and reports the RSS growth. */
    async idle(params: ClientParams & { n: number }) {
      const c = need(clients)
      for (let i = 0; i < 5; i++) await (await c.connect(params.stack, params.endpoint)).close() // warm-up
      await settle()
      const before = process.memoryUsage().rss
      held = []
      for (let i = 0; i < params.n; i++) held.push(await c.connect(params.stack, params.endpoint))
      await new Promise((r) => setTimeout(r, 500))
      gc()
      return { before, after: process.memoryUsage().rss, held: held.length }
    },
    /** Client role: closes every held connection at once; returns the wall-clock time in ms. */
    async closeAll() {
      const t = performance.now()
      await Promise.all(held.map((c) => c.close()))
      const ms = performance.now() - t
      held = []
      return ms
    },
    /** CPU time this process used so far (user + system), in microseconds. */
    cpu() {
      const { user, system } = process.cpuUsage()
      return user + system
    },
    /** Full garbage collections since the server started (0 in a client). */
    majorGcs() {
      return majorGcs?.() ?? 0
    },
    async rss() {
      await settle()
      return process.memoryUsage().rss
    },
  },
  {
    onShutdown: async () => {
      await current?.close().catch(() => {})
      await Promise.allSettled([servers?.close(), clients?.close()])
    },
  },
)

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('call clientStart first')
  return value
}

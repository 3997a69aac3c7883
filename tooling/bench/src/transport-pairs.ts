// The children of `pnpm bench transport`'s loopback and veth phases: for each stack, a server child
// and a client child (both transport-server.ts) given that stack only, as users run one stack per
// process. No two stacks share a process, engine threads or an event loop: when they did, an idle
// stack's engine moved the others' figures (node:tls ran at half its bulk rate beside the QUIC
// stacks; see docs/benchmarks/transport.md).
import { fileURLToPath } from 'node:url'
import type { Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { clientPins, type Endpoints, STACKS, type StackName } from './transport-stacks.js'

/** What a client child runs on its open connection (transport-server.ts `warm` / `run`). */
export type LoopOp = 'bulk' | 'messages' | 'echo'
/** One timed run: MB/s (bulk), msg/s (messages) or undefined (echo: `samples`, in us). */
export interface RunResult {
  value: number | undefined
  /** client + server process CPU time of the run */
  cpuUs: number
  samples: number[]
}
/** Generous: a run is seconds at most, but the machine is shared. */
export const RUN_TIMEOUT_MS = 120_000

const SERVER_FILE = fileURLToPath(new URL('./transport-server.ts', import.meta.url))

/** The two children of one stack. */
export interface StackPair {
  server: RpcChild
  client: RpcChild
}

export interface StackPairs {
  pairs: Record<StackName, StackPair>
  endpoints: Endpoints
  /** What `peer-quinn` and `peer-matrixai` ran on, server and client (`transport.engine`). */
  engines: Record<'peer-quinn' | 'peer-matrixai', string>
  /** Every child started, also when starting failed part-way (the caller closes them). */
  children: RpcChild[]
}

/**
 * Starts a server and a client child per stack; servers listen on `host` and trust only
 * `identity`, the clients dial as `identity`. `children` is filled as they start: on failure the
 * caller still closes what started.
 */
export async function startStackPairs(
  identity: Identity,
  host: string,
  children: RpcChild[],
  netns: { server?: string; client?: string } = {},
): Promise<StackPairs> {
  const pairs = {} as Record<StackName, StackPair>
  const endpoints = {} as Endpoints
  const engines = { 'peer-quinn': '', 'peer-matrixai': '' }
  const pem = { privateKeyPem: identity.privateKeyPem, certificatePem: identity.certificatePem }
  for (const stack of STACKS) {
    const server = await spawnChild(SERVER_FILE, { netns: netns.server })
    children.push(server)
    const client = await spawnChild(SERVER_FILE, { netns: netns.client })
    children.push(client)
    const started = await server.call<{ endpoints: Endpoints; engines: Record<string, string> }>(
      'start',
      { client: clientPins(identity), host, stacks: [stack] },
      { timeoutMs: 60_000 },
    )
    const clientEngines = await client.call<Record<string, string>>('clientStart', { pem, stacks: [stack] })
    endpoints[stack] = started.endpoints[stack]
    if (stack === 'peer-quinn' || stack === 'peer-matrixai') {
      engines[stack] = `${started.engines[stack]} (client ${clientEngines[stack]})`
    }
    pairs[stack] = { server, client }
  }
  return { pairs, endpoints, engines, children }
}

/** Runs on the stacks' client children; `messageBytes` sets a bulk run's message size. */
export function stackRuns(pairs: Record<StackName, StackPair>, endpoints: Endpoints) {
  const t = { timeoutMs: RUN_TIMEOUT_MS }
  const target = (stack: StackName) => ({ stack, endpoint: endpoints[stack] })
  return {
    target,
    /** A fresh connection for `run` (in the stack's client child), closed afterwards. */
    async onFresh<T>(stack: StackName, run: () => Promise<T>): Promise<T> {
      const { client } = pairs[stack]
      await client.call('open', target(stack), t)
      try {
        return await run()
      } finally {
        await client.call('closeConn', undefined, t)
      }
    },
    /** Untimed work on the open connection. */
    warm: (stack: StackName, op: LoopOp, n: number, messageBytes?: number) =>
      pairs[stack].client.call('warm', { op, n, messageBytes }, t),
    /** One timed run on the open connection, with both processes' CPU time. */
    async timed(stack: StackName, op: LoopOp, n: number, messageBytes?: number): Promise<RunResult> {
      const { server, client } = pairs[stack]
      const before = await server.call<number>('cpu')
      const r = await client.call<RunResult>('run', { op, n, messageBytes }, t)
      const serverUs = (await server.call<number>('cpu')) - before
      return { ...r, cpuUs: r.cpuUs + serverUs }
    },
  }
}

// The children of `pnpm bench transport`'s loopback and veth phases: for each stack, a server child
// and a client child (both transport-server.ts) given that stack only, as users run one stack per
// process. No two stacks share a process, engine threads or an event loop: when they did, an idle
// stack's engine moved the others' figures (node:tls ran at half its bulk rate beside the QUIC
// stacks; see docs/benchmarks/transport.md).
import { fileURLToPath } from 'node:url'
import type { Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { clientPins, type Endpoints, STACKS, type StackName } from './transport-stacks.js'

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

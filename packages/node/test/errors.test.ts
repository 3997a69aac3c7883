// Errors that tell the truth, on real QUIC: a request in flight fails with a PeerUnavailableError
// whose `reason` says what happened to the peer (it crashed, it was replaced by a restarted
// process, it broke the protocol), and a bad hello is refused with a code and a readable reason.
import { fileURLToPath } from 'node:url'
import { generateIdentity, type Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { CODE, createTransport } from '@peer/transport-quic'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createNode, type PeerNode, PeerUnavailableError } from '../src/index.js'
import { encodeEnvelope } from '../src/internal.js'
import { startChildNode } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/node-child.ts', import.meta.url))
const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

interface Victim {
  identity: Identity
  start(): Promise<RpcChild>
}

/** A survivor node in this process and a victim node in a child process that knows it. */
async function survivorAndVictim(
  idleMs: number,
  stallTimeoutMs?: number,
): Promise<{ survivor: PeerNode; victim: Victim }> {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const survivor = await createNode({
    identity: mine,
    trust: [theirs.id],
    name: 'survivor@localhost',
    discovery: new ManualBackend(),
    lostHysteresisMs: 0,
    ...(stallTimeoutMs === undefined ? {} : { stallTimeoutMs }),
    registry: { backoff: { initialDelayMs: 50, maxDelayMs: 500 }, dialTimeoutMs: 2000 },
    transport: { maxIdleTimeoutMs: idleMs, keepAliveIntervalMs: 300 },
  })
  cleanups.push(() => survivor.stop())
  const victim: Victim = {
    identity: theirs,
    async start() {
      const child = await spawnChild(fixture)
      cleanups.push(() => child.close(2000))
      await startChildNode(child, theirs, survivor, { name: 'victim@localhost', idleMs })
      return child
    },
  }
  return { survivor, victim }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

describe('requests in flight to a peer that went away', () => {
  it('a peer killed with -9: reason connection-lost (idle timeout), never "stopping"', async () => {
    const { survivor, victim } = await survivorAndVictim(1500)
    const child = await victim.start()
    await survivor.waitForPeer('victim', { timeoutMs: 10_000 })
    const inFlight = failure(survivor.request('victim', 'never', null, { timeoutMs: 30_000 }))
    await waitFor(() => survivor.peer('victim')?.stats.inFlight === 1)
    await child.crash()
    const error = await inFlight
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(error).toMatchObject({ reason: 'connection-lost' })
    expect((error as Error).message).toMatch(/connection was lost.*idle timeout/)
  })

  it('a peer that vanished and was restarted before the idle timeout: reason replaced, and the new process answers', async () => {
    // the stall watch off (its 2 s default would, when the restart takes longer under load, probe
    // the frozen peer's address, find the new process there and report connection-lost first)
    const { survivor, victim } = await survivorAndVictim(30_000, 600_000)
    const first = await victim.start()
    const up = await survivor.waitForPeer('victim', { timeoutMs: 10_000 })
    const events = recordEvents(survivor, ['peer:down'])
    const inFlight = failure(survivor.request('victim', 'never', null, { timeoutMs: 30_000 }))
    await waitFor(() => survivor.peer('victim')?.stats.inFlight === 1)
    // past the registry's simultaneous-dial window, so the restarted peer's dial replaces the old one
    await waitFor(() => Date.now() - up.upSince > 2500, { what: 'the connection to be older than 2 s' })
    // the old process vanishes without a trace (frozen: no goodbye, and no ICMP error either, so
    // its connection can only end by being replaced) and a new one with its identity starts
    first.kill('SIGSTOP')
    await victim.start()
    const error = await inFlight
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(error).toMatchObject({ reason: 'replaced' })
    expect((error as Error).message).not.toMatch(/stopping/)
    // the new process answers once its link is up (the peer never went down)
    await waitFor(
      async () => (await survivor.request('victim', 'echo', 'again').catch(() => '')) === 'again',
      {
        timeoutMs: 15_000,
        what: 'the restarted peer to answer',
      },
    )
    expect(events.of('peer:down')).toEqual([])
    // one replacement by a restarted peer is no id conflict (see id-conflict.test.ts)
    expect(survivor.registryStats).toMatchObject({ replaced: 1, idConflicts: 0 })
    await first.crash()
  })
})

describe('protocol errors close with an application code and a reason the other side reads', () => {
  async function rawPeer() {
    const raw = await generateIdentity()
    const node = await createNode({ name: 'strict@localhost', trust: [raw.id] })
    cleanups.push(() => node.stop())
    const transport = createTransport({ identity: raw, trust: () => true })
    cleanups.push(() => transport.close())
    const conn = await transport.dial(node.address, { expectedId: node.id })
    const out = await conn.openChannel()
    return { raw, node, conn, out }
  }

  it('"hello failed" says what was wrong, with code PROTOCOL_ERROR', async () => {
    const { conn, out } = await rawPeer()
    await out.send(encodeEnvelope({ kind: 'msg', topic: 'early', payload: 1 }, 1024))
    await out.flush()
    const info = await conn.closed
    expect(info).toMatchObject({ by: 'remote', code: CODE.PROTOCOL_ERROR, application: true })
    expect(info.reason).toMatch(/^hello failed: .*its first message is msg, not hello/)
  })

  it('a peer that closes with PROTOCOL_ERROR fails requests in flight with reason protocol-error', async () => {
    const { raw, node, conn, out } = await rawPeer()
    await out.send(encodeEnvelope({ kind: 'hello', name: 'raw@localhost' }, 1024))
    await out.flush()
    await node.waitForPeer(raw.id, { timeoutMs: 10_000 })
    const inFlight = failure(node.request(raw.id, 'anything', null, { timeoutMs: 30_000 }))
    await waitFor(() => node.peer(raw.id)?.stats.inFlight === 1)
    await conn.close('protocol error: test', CODE.PROTOCOL_ERROR)
    const error = await inFlight
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(error).toMatchObject({ reason: 'protocol-error' })
    expect((error as Error).message).toMatch(/code 2: protocol error: test/)
  })
})

vi.setConfig({ testTimeout: 60_000 })

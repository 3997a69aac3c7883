// Liveness probes on real QUIC: a peer killed with SIGKILL is taken down by an unanswered probe
// (after a request to it timed out, or after discovery reported it lost) long before the QUIC idle
// timeout, which these tests set to 60 s so that only the probe can explain a `peer:down`; a
// healthy peer that discovery reports lost answers the probe and stays up (discovery is a hint).
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createNode,
  type PeerDownDetail,
  PeerNode,
  PeerUnavailableError,
  RequestTimeoutError,
} from '../src/index.js'
import { FAST_REGISTRY, type Member, startChildNode, startCluster, stopAll } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/node-child.ts', import.meta.url))
/** The QUIC idle timeout on both sides: far beyond anything these tests wait for. */
const IDLE_MS = 60_000

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  )

/** A survivor node here, connected to a victim node in a child process (both with a 60 s idle timeout). */
async function survivorAndVictim(): Promise<{
  survivor: PeerNode
  discovery: ManualBackend
  victimId: string
  child: RpcChild
}> {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const discovery = new ManualBackend()
  const survivor = await createNode({
    identity: mine,
    trust: [theirs.id],
    name: 'survivor@localhost',
    discovery,
    lostHysteresisMs: 0,
    registry: FAST_REGISTRY,
    transport: { maxIdleTimeoutMs: IDLE_MS },
  })
  cleanups.push(() => survivor.stop())
  const child = await spawnChild(fixture)
  cleanups.push(() => child.close(2000))
  const { address } = await startChildNode(child, theirs, survivor, {
    name: 'victim@localhost',
    idleMs: IDLE_MS,
  })
  discovery.announcePeer(theirs.id, [address], { name: 'victim@localhost' })
  await survivor.waitForPeer(theirs.id, { timeoutMs: 20_000 })
  return { survivor, discovery, victimId: theirs.id, child }
}

describe('a peer killed with SIGKILL is probed and taken down before the idle timeout', () => {
  it('after requests to it time out: one probe for all of them, then peer:down `unresponsive`', async () => {
    const { survivor, victimId, child } = await survivorAndVictim()
    const events = recordEvents(survivor, ['peer:down'])
    const inFlight = failure(survivor.request(victimId, 'never', null, { timeoutMs: 50_000 }))
    await waitFor(() => survivor.peer(victimId)?.stats.inFlight === 1, { what: 'the request in flight' })
    await child.crash()
    const killedAt = performance.now()
    // five requests that time out together: five suspicions, one probe in flight
    const timedOut = Array.from({ length: 5 }, (_, i) =>
      failure(survivor.request(victimId, 'echo', i, { timeoutMs: 500 })),
    )
    await waitFor(() => events.of('peer:down').length === 1, { timeoutMs: 40_000, what: 'peer:down' })
    const downAfter = performance.now() - killedAt
    expect((events.of('peer:down')[0]!.detail as PeerDownDetail).reason).toBe('unresponsive')
    expect(downAfter).toBeLessThan(IDLE_MS)
    for (const error of await Promise.all(timedOut)) expect(error).toBeInstanceOf(RequestTimeoutError)
    const error = await inFlight
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(error).toMatchObject({ reason: 'connection-lost' })
    expect((error as Error).message).toMatch(/no answer to a liveness probe within \d+ ms/)
    expect(survivor.stats.probes).toBe(1)
    expect(survivor.stats.probeFailures).toBe(1)
    expect(survivor.peer(victimId)).toBeUndefined()
  }, 90_000)

  it('after discovery reports it lost: member:left, then peer:down `unresponsive`', async () => {
    const { survivor, discovery, victimId, child } = await survivorAndVictim()
    const events = recordEvents(survivor, ['member:left', 'peer:down'])
    await child.crash()
    const killedAt = performance.now()
    discovery.losePeer(victimId)
    await waitFor(() => events.of('peer:down').length === 1, { timeoutMs: 40_000, what: 'peer:down' })
    const downAfter = performance.now() - killedAt
    expect(events.events.map((e) => e.type)).toEqual(['member:left', 'peer:down'])
    expect((events.of('peer:down')[0]!.detail as PeerDownDetail).reason).toBe('unresponsive')
    expect(downAfter).toBeLessThan(IDLE_MS)
    expect(survivor.stats.probes).toBe(1)
    expect(survivor.stats.probeFailures).toBe(1)
  }, 90_000)
})

describe('a peer whose event loop is blocked: alive to QUIC, dead to the application', () => {
  it('is taken down as unresponsive, its requests fail typed, and it comes back once it runs again', async () => {
    const { survivor, victimId } = await survivorAndVictim()
    const dir = await mkdtemp(join(tmpdir(), 'peer-liveness-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const fifo = join(dir, 'unblock')
    execFileSync('mkfifo', [fifo])
    const events = recordEvents(survivor, ['peer:down', 'peer:up'])
    // the victim's handler reads the FIFO: its event loop stops until the test writes to it (with
    // quinn, QUIC still acknowledges and keeps the connection alive from the engine's own threads)
    const blocked = failure(survivor.request(victimId, 'block', fifo, { timeoutMs: 600_000 }))
    await waitFor(
      async () => (await failure(survivor.request(victimId, 'echo', 0, { timeoutMs: 500 }))) !== undefined,
      {
        timeoutMs: 60_000,
        what: 'a request to the blocked peer to time out',
      },
    )
    await waitFor(() => events.of('peer:down').length === 1, { timeoutMs: 60_000, what: 'peer:down' })
    expect((events.of('peer:down')[0]!.detail as PeerDownDetail).reason).toBe('unresponsive')
    expect(await blocked).toMatchObject({ name: 'PeerUnavailableError', reason: 'connection-lost' })
    expect(survivor.stats.probeFailures).toBe(1)
    // it runs again: redialed (its discovery record stays), up, and answering
    await writeFile(fifo, 'go')
    await waitFor(() => events.of('peer:up').length === 1, { timeoutMs: 60_000, what: 'peer:up again' })
    expect(await survivor.request(victimId, 'echo', 'back', { timeoutMs: 60_000 })).toBe('back')
  }, 180_000)
})

describe('a healthy peer', () => {
  let members: Member[] = []
  afterEach(async () => {
    await stopAll(members)
    members = []
  })

  it('reported lost by discovery, or slow to answer a request, answers the probe and stays up', async () => {
    // a long probe time limit: the answered path must not depend on how loaded the machine is
    members = await startCluster(['a', 'b'], {
      probeTimeoutMs: 30_000,
      transport: { maxIdleTimeoutMs: IDLE_MS },
    })
    const [a, b] = members as [Member, Member]
    b.node.handle('echo', (x) => x)
    b.node.handle('never', () => new Promise(() => {}))
    const onA = recordEvents(a.node, ['member:left', 'peer:down'])
    const onB = recordEvents(b.node, ['peer:down'])

    // a false loss report (what an attacker on the discovery link could send) costs one ping
    a.discovery.losePeer(b.node.id)
    await waitFor(() => onA.of('member:left').length === 1, { what: 'member:left' })
    expect(a.node.stats.probes).toBe(1)
    // the control lane keeps order both ways: once this ping is answered, the probe's was too
    await a.node.ping(b.node.id, { timeoutMs: 30_000 })
    expect(a.node.peer(b.node.id)).toBeDefined()

    // a request that times out (the handler never answers) is a suspicion too
    expect(await failure(a.node.request(b.node.id, 'never', null, { timeoutMs: 200 }))).toBeInstanceOf(
      RequestTimeoutError,
    )
    expect(a.node.stats.probes).toBe(2)
    await a.node.ping(b.node.id, { timeoutMs: 30_000 })

    expect(a.node.stats.probeFailures).toBe(0)
    expect(onA.of('peer:down')).toEqual([])
    expect(onB.of('peer:down')).toEqual([])
    expect(await a.node.request(b.node.id, 'echo', 'still here')).toBe('still here')
  }, 90_000)
})

it('probeTimeoutMs must be a whole number of ms from 1: ConfigError naming it', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 40, '2000'] as never[]) {
    expect(() => new PeerNode({ trust: [], probeTimeoutMs: bad })).toThrow(ConfigError)
    expect(() => new PeerNode({ trust: [], probeTimeoutMs: bad })).toThrow(/probeTimeoutMs/)
  }
  expect(() => new PeerNode({ trust: [], probeTimeoutMs: 1 })).not.toThrow()
})

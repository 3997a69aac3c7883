// The peer registry's rules across network namespaces: three nodes (a, b and mallory) run as child
// processes in their own namespaces, joined by a bridge (in its own namespace), over real QUIC.
import { fileURLToPath } from 'node:url'
import { generateIdentity, type Identity } from '@peer/identity'
import type { PeerStatus } from '@peer/registry'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { testId } from '@peer/testkit/ids'
import { type BridgeTopology, createBridgeTopology } from '@peer/testkit/netns'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

const CHILD = fileURLToPath(new URL('./fixtures/registry-node.ts', import.meta.url))

interface Member {
  name: 'a' | 'b' | 'm'
  identity: Identity
  child: RpcChild
  host: string
  port: number
  ns: BridgeTopology['nodes'][number]['ns']
}

let topology: BridgeTopology
const members: Record<'a' | 'b' | 'm', Member> = {} as never
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  topology = await createBridgeTopology({ count: 3, label: 'reg' })
  const names = ['a', 'b', 'm'] as const
  await Promise.all(
    names.map(async (name, i) => {
      const node = topology.nodes[i]!
      const child = await spawnChild(CHILD, { netns: node.ns.name })
      members[name] = {
        name,
        identity: await generateIdentity(),
        child,
        host: node.ipv4,
        port: 0,
        ns: node.ns,
      }
    }),
  )
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(Object.values(members).map((m) => m.child.close()))
  await topology?.destroy()
})

/** (Re)starts one node with a fresh registry (and optionally another identity or port). */
async function restart(
  x: Member,
  trust: string[],
  options: { identity?: Identity; port?: number; maxConcurrentDials?: number; dialTimeoutMs?: number } = {},
): Promise<void> {
  await x.child.call('stop')
  const identity = options.identity ?? x.identity
  const started = await x.child.call<{ port: number }>('start', {
    privateKeyPem: identity.privateKeyPem,
    certificatePem: identity.certificatePem,
    host: x.host,
    port: options.port ?? 0,
    trust,
    maxIdleTimeoutMs: 2000,
    ...(options.maxConcurrentDials === undefined ? {} : { maxConcurrentDials: options.maxConcurrentDials }),
    ...(options.dialTimeoutMs === undefined ? {} : { dialTimeoutMs: options.dialTimeoutMs }),
  })
  x.port = started.port
}

/** (Re)starts every node with a fresh registry: a and b trust each other, mallory trusts a. */
async function restartAll(): Promise<void> {
  const { a, b, m } = members
  const trust = { a: [b.identity.id], b: [a.identity.id], m: [a.identity.id] }
  await Promise.all(Object.values(members).map((x) => restart(x, trust[x.name])))
  // links may have been cut by a previous test
  for (const x of [a, b, m]) await x.ns.ip(['link', 'set', 'eth0', 'up'])
}

const addr = (x: Member) => ({ host: x.host, port: x.port })
const announce = (on: Member, of: Member, at: Member = of) =>
  on.child.call('announce', { id: of.identity.id, addresses: [addr(at)] })
const status = (on: Member, of: Member) => on.child.call<PeerStatus | null>('status', { id: of.identity.id })
type Conn = {
  direction: string
  local: { port: number }
  remote: { port: number }
  rtt: number | null
} | null
const connection = (on: Member, of: Member) => on.child.call<Conn>('connection', { id: of.identity.id })

async function oneSharedConnection(x: Member, y: Member): Promise<boolean> {
  const [cx, cy] = await Promise.all([connection(x, y), connection(y, x)])
  return cx !== null && cy !== null && cx.local.port === cy.remote.port && cx.remote.port === cy.local.port
}

describe('PeerRegistry across network namespaces', () => {
  beforeEach(restartAll, 30_000)

  it('connects across namespaces, pinned, with a status snapshot', async () => {
    const { a, b } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    const s = (await status(a, b))!
    expect(s).toMatchObject({ state: 'connected', direction: 'outbound', discovered: true, dialAttempts: 0 })
    expect(s.addresses).toEqual([
      expect.objectContaining({ host: b.host, port: b.port, sources: ['manual'] }),
    ])
    await waitFor(async () => typeof (await status(a, b))?.rtt === 'number')
    expect((await status(b, a))!).toMatchObject({ state: 'connected', direction: 'inbound' })
  })

  it('peer:lost keeps the connection; liveness (idle timeout on a cut link) closes it, and a lost peer is not redialed', async () => {
    const { a, b } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    await a.child.call('lose', { id: b.identity.id })
    await sleep(1500)
    expect(await oneSharedConnection(a, b)).toBe(true)
    const disconnected = a.child.nextEvent<{ id: string; reason: string }>(
      'peer:disconnected',
      () => true,
      15_000,
    )
    await b.ns.ip(['link', 'set', 'eth0', 'down'])
    const event = await disconnected
    expect(event.id).toBe(b.identity.id)
    expect(event.reason).toMatch(/idle|timeout/i)
    await waitFor(async () => (await status(a, b)) === null)
    const dials = await a.child.call<number>('dials')
    await sleep(1000)
    expect(await a.child.call<number>('dials')).toBe(dials)
  })

  it('redials with backoff while the peer is discovered and reconnects once the link is back', async () => {
    const { a, b } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    await b.ns.ip(['link', 'set', 'eth0', 'down'])
    await a.child.nextEvent('peer:disconnected', () => true, 15_000)
    const failed = await a.child.nextEvent<{ attempt: number; retryIn: number }>(
      'peer:dial-failed',
      () => true,
      15_000,
    )
    expect(failed.retryIn).toBeGreaterThan(0)
    expect((await status(a, b))!.discovered).toBe(true)
    await b.ns.ip(['link', 'set', 'eth0', 'up'])
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 20_000 })
  })

  it('simultaneous dials across namespaces end with exactly one connection', async () => {
    const { a, b } = members
    await Promise.all([announce(a, b), announce(b, a)])
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    await sleep(1000)
    expect(await oneSharedConnection(a, b)).toBe(true)
    const [sa, sb] = await Promise.all([
      a.child.call<{ listenerConnections: number }>('stats'),
      b.child.call<{ listenerConnections: number }>('stats'),
    ])
    expect(sa.listenerConnections + sb.listenerConnections).toBe(1)
  })

  it("an announcement of b's id at mallory's address does not redirect the live connection; a dial there fails the pin", async () => {
    const { a, b, m } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    const before = await connection(a, b)
    await announce(a, b, m)
    await sleep(1000)
    const after = await connection(a, b)
    expect({ ...after, rtt: 0 }).toEqual({ ...before, rtt: 0 }) // the same connection (rtt moves)
    const probe = await a.child.call<{ ok: boolean; name?: string }>('dialDirect', {
      ...addr(m),
      expectedId: b.identity.id,
    })
    expect(probe).toMatchObject({ ok: false, name: 'PinningError' })
    expect((await m.child.call<{ listenerConnections: number }>('stats')).listenerConnections).toBe(0)
  })

  it('removing trust closes the connection on both sides; adding it back reconnects', async () => {
    const { a, b } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    const onB = b.child.nextEvent<{ reason: string }>('peer:disconnected', () => true, 15_000)
    await a.child.call('trustRemove', { id: b.identity.id })
    expect((await onB).reason).toBe('untrusted')
    await waitFor(async () => (await connection(a, b)) === null && (await connection(b, a)) === null)
    await a.child.call('trustAdd', { id: b.identity.id })
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
  })

  it('an untrusted id is rejected and never dialed', async () => {
    const { a, m } = members
    const rejected = a.child.nextEvent<{ id: string; reason: string }>('peer:rejected')
    await announce(a, m)
    expect(await rejected).toMatchObject({ id: m.identity.id, reason: 'untrusted' })
    await sleep(500)
    expect(await a.child.call<number>('dials')).toBe(0)
    expect((await m.child.call<{ listenerConnections: number }>('stats')).listenerConnections).toBe(0)
  })

  it('bounds concurrent dials and times out dials to an address nobody answers', async () => {
    const { a, b } = members
    const ids = Array.from({ length: 5 }, (_, i) => testId(`netns-hole-${i}-${process.pid}`))
    await restart(a, [b.identity.id, ...ids], { maxConcurrentDials: 2, dialTimeoutMs: 400 })
    // an address on the bridge's subnet that no namespace holds: packets go nowhere
    const hole = `${a.host.split('.').slice(0, 3).join('.')}.200`
    for (const [i, id] of ids.entries()) {
      await a.child.call('announce', { id, addresses: [{ host: hole, port: 4000 + i }] })
    }
    const queued = (await a.child.call<PeerStatus[]>('peers')).filter((p) => p.state === 'queued')
    expect(queued.length).toBeGreaterThanOrEqual(2)
    await waitFor(async () => (await a.child.call<{ dialTimeouts: number }>('stats')).dialTimeouts >= 5, {
      timeoutMs: 15_000,
    })
    expect(await a.child.call<number>('maxInFlight')).toBe(2)
  })

  it('b restarted with a new identity at the same address is not trusted, and dials to it fail the pin', async () => {
    const { a, b } = members
    await announce(a, b)
    await waitFor(() => oneSharedConnection(a, b), { timeoutMs: 15_000 })
    const impostor = await generateIdentity()
    const refused = a.child.nextEvent<{ id?: string }>('connection:rejected', () => true, 15_000)
    await restart(b, [a.identity.id], { identity: impostor, port: b.port })
    // the impostor dials a (it trusts a): a's listener refuses its id
    await b.child.call('announce', { id: a.identity.id, addresses: [addr(a)] })
    expect((await refused).id).toBe(impostor.id)
    // a keeps redialing b's id at that address: the pin fails there
    await waitFor(async () => /identity mismatch/.test((await status(a, b))?.addresses[0]?.lastError ?? ''), {
      timeoutMs: 15_000,
    })
    expect(await connection(a, b)).toBeNull()
    // announced under b's old address, the new id is rejected by a's registry
    const rejected = a.child.nextEvent<{ id: string }>('peer:rejected')
    await a.child.call('announce', { id: impostor.id, addresses: [addr(b)] })
    expect((await rejected).id).toBe(impostor.id)
    expect(await a.child.call('connection', { id: impostor.id })).toBeNull()
    // restore b's identity for the next tests
    await restart(b, [a.identity.id])
  })
})

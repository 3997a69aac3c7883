// Why a peer is not up: the errors of waitForPeer, send and request say whether the peer is not
// trusted, not discovered (and whether the node has a backend at all) or discovered and being
// dialed, instead of a bare "not connected" for all of them; and the warnings behind "not
// discovered" reach the node's logger.

import { AbstractDiscoveryBackend } from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import type { PeerStatus } from '@peer/registry'
import { testId } from '@peer/testkit/ids'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { afterEach, describe, expect, it } from 'vitest'
import { type AbsenceView, absence, whyNotUp } from '../src/absence.js'
import { createNode, type PeerNode } from '../src/index.js'
import { type Member, startMember } from './helpers.js'

const nodes: PeerNode[] = []
const members: Member[] = []
afterEach(async () => {
  await Promise.all([...nodes.splice(0), ...members.splice(0).map((m) => m.node)].map((n) => n.stop()))
})

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('it resolved'),
    (e: Error) => e,
  )

describe('errors of calls to a peer that is not up', () => {
  it('name a peer that is not in the trust list, and where discovery reports it', async () => {
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const stranger = await createNode({ name: 'stranger@localhost', identity: ib, trust: [ia.id] })
    nodes.push(stranger)
    const a = await startMember(ia, [])
    members.push(a)
    a.discovery.announcePeer(ib.id, [stranger.address], { name: stranger.name })
    const port = stranger.address.port
    const byId = await failure(a.node.waitForPeer(ib.id, { timeoutMs: 50 }))
    expect(byId).toMatchObject({
      name: 'PeerUnavailableError',
      reason: 'not-connected',
      standing: 'untrusted',
    })
    expect(byId.message).toContain(
      `not up within 50 ms: not in this node's trust list, so it is neither dialed nor accepted (discovery reports it: manual at 127.0.0.1:${port})`,
    )
    const byName = await failure(a.node.request('stranger', 't', 'x'))
    expect(byName).toMatchObject({ standing: 'untrusted' })
    expect(byName.message).toContain(
      `not connected: a discovered peer has this name (stranger@localhost, id ${ib.id}) but is not in this node's trust list`,
    )
    // trusted now: it is dialed, and the same call succeeds
    a.node.trust!.add(ib.id)
    stranger.handle('t', (x) => x)
    a.discovery.announcePeer(ib.id, [stranger.address], { name: stranger.name })
    await a.node.waitForPeer(ib.id, { timeoutMs: 60_000 })
    expect(await a.node.request('stranger', 't', 'x')).toBe('x')
  })

  it('tell a trusted peer nobody reported apart from a node with no discovery backend', async () => {
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const alone = await createNode({ identity: ia, trust: [ib.id] })
    nodes.push(alone)
    expect((await failure(alone.ping(ia.id))).message).toContain("not connected: that is this node's own id")
    expect(await failure(alone.ping(ia.id))).toMatchObject({ standing: 'self' })
    expect(await failure(alone.send(ib.id, 't', 'x'))).toMatchObject({ standing: 'undiscovered' })
    expect((await failure(alone.send(ib.id, 't', 'x'))).message).toContain(
      'not connected: this node has no discovery backend, and the peer has not connected to it',
    )
    expect((await failure(alone.waitForPeer('b@x', { timeoutMs: 20 }))).message).toContain(
      'not up within 20 ms: no discovered peer has this name (this node has no discovery backend)',
    )
    const a = await startMember(ia, [ib.id])
    members.push(a)
    expect((await failure(a.node.send(ib.id, 't', 'x'))).message).toContain(
      'not connected: no discovery backend reports it, and it has not connected',
    )
    expect((await failure(a.node.send('b@x', 't', 'x'))).message).toContain(
      'not connected: no discovered peer has this name',
    )
  })

  it('name a discovery backend that failed when nobody reports the peer', async () => {
    // a user's backend whose medium is down: the node starts on the others and keeps its error
    class Down extends AbstractDiscoveryBackend {
      constructor() {
        super('registry', ['list'])
      }
      protected async onStart() {
        throw new Error('connect ECONNREFUSED 127.0.0.1:1')
      }
      protected async onStop() {}
    }
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const node = await createNode({
      identity: ia,
      trust: [ib.id],
      discovery: [new ManualBackend(), new Down()],
    })
    nodes.push(node)
    expect((await failure(node.waitForPeer(ib.id, { timeoutMs: 20 }))).message).toMatch(
      /not up within 20 ms: no discovery backend reports it, and it has not connected \(discovery errors: registry failed \d+ ms ago: connect ECONNREFUSED 127\.0\.0\.1:1\)/,
    )
  })

  it("lend the node's logger to a backend made without one, so its warnings are not lost", async () => {
    const { factory, records } = recordingLogger()
    const backend = new ManualBackend()
    const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
    const node = await createNode({ identity: ia, trust: [ib.id], discovery: backend, logger: factory })
    nodes.push(node)
    backend.announcePeer('not an id', [{ host: '127.0.0.1', port: 1 }])
    expect(records.filter((r) => r.level === 'warn').map((r) => [r.namespace, r.message])).toContainEqual([
      'peer:discovery:manual',
      'dropped an invalid record, and no valid one has been seen since start',
    ])
  })
})

describe('whyNotUp', () => {
  const status = (over: Partial<PeerStatus>): PeerStatus => ({
    id: testId('b'),
    name: 'b@x',
    state: 'idle',
    discovered: true,
    addresses: [{ host: '127.0.0.1', port: 4000, sources: ['static'] }],
    lastSeen: 0,
    dialAttempts: 0,
    totalDials: 0,
    ...over,
  })
  const view = (s: PeerStatus, over: Partial<AbsenceView> = {}): AbsenceView => ({
    self: () => testId('self'),
    trusted: () => true,
    status: (id) => (id === s.id ? s : undefined),
    peers: () => [s],
    discovered: () => [],
    backendErrors: () => [],
    onDemand: false,
    ...over,
  })

  it('says where dialing a discovered member stands', () => {
    const id = testId('b')
    const cases: Array<[Partial<PeerStatus>, boolean, string]> = [
      [{}, true, 'discovered at 127.0.0.1:4000; dialed on first use'],
      [{ dialAttempts: 1 }, false, 'discovered at 127.0.0.1:4000; not dialed now after 1 failed dial'],
      [{ addresses: [] }, false, 'discovered; it has no address to dial'],
      [{ state: 'queued' }, false, 'discovered at 127.0.0.1:4000; waiting for a dial slot'],
      [
        { state: 'dialing', dialAttempts: 2 },
        false,
        'discovered at 127.0.0.1:4000; a dial is in flight after 2 failed dials',
      ],
      [
        { state: 'backoff', nextDialAt: Date.now() + 60_000 },
        false,
        'discovered at 127.0.0.1:4000; the next dial in',
      ],
      [{ state: 'backoff', nextDialAt: 0 }, false, 'discovered at 127.0.0.1:4000; a redial is due'],
      [
        { state: 'departed' },
        false,
        'it said it was stopping; redialed when discovery reports it again, or by a call to it',
      ],
      [{ state: 'connected' }, false, 'connected, its hello not done yet'],
    ]
    for (const [over, onDemand, expected] of cases) {
      expect(whyNotUp(id, view(status(over), { onDemand }))).toContain(expected)
      expect(whyNotUp('b', view(status(over), { onDemand }))).toContain(expected) // by short name
    }
  })

  it('names the discovery backends that failed, newest first, when nobody reports the peer', () => {
    const now = Date.now()
    const backendErrors = () => [
      { source: 'dns', error: new Error('old'), at: now - 60_000 },
      { source: 'mdns', error: new Error('EADDRINUSE'), at: now - 5_000 },
      { source: 'etcd', error: new Error('ECONNREFUSED 127.0.0.1:2379'), at: now },
    ]
    const nobody = view(status({ discovered: false }), { backendErrors })
    expect(whyNotUp(testId('b'), nobody)).toMatch(
      /^no discovery backend reports it, and it has not connected \(discovery errors: etcd failed \d+ ms ago: ECONNREFUSED 127\.0\.0\.1:2379; mdns failed 5 s ago: EADDRINUSE\)$/,
    )
    expect(whyNotUp('nobody', nobody)).toContain(
      'no discovered peer has this name (discovery errors: etcd failed',
    )
    // a member that discovery does report: the errors are beside the point
    expect(whyNotUp(testId('b'), view(status({}), { backendErrors }))).not.toContain('discovery errors')
  })

  it('leaves out a backend that has worked since its error', () => {
    const now = Date.now()
    const backendErrors = () => [
      { source: 'mdns', error: new Error('EADDRINUSE'), at: now - 5_000 },
      {
        source: 'etcd',
        error: new Error('ECONNREFUSED 127.0.0.1:2379'),
        at: now - 60_000,
        recoveredAt: now - 30_000,
      },
    ]
    const nobody = view(status({ discovered: false }), { backendErrors })
    expect(whyNotUp(testId('b'), nobody)).toMatch(/\(discovery errors: mdns failed 5 s ago: EADDRINUSE\)$/)
    const allWell = () => backendErrors().slice(1)
    expect(whyNotUp(testId('b'), view(status({ discovered: false }), { backendErrors: allWell }))).toBe(
      'no discovery backend reports it, and it has not connected',
    )
  })

  it('lists at most three addresses, and says an ambiguous name is ambiguous', () => {
    const addresses = [1, 2, 3, 4, 5].map((i) => ({ host: `127.0.0.${i}`, port: 1, sources: ['static'] }))
    expect(whyNotUp(testId('b'), view(status({ addresses })))).toContain(
      'discovered at 127.0.0.1:1, 127.0.0.2:1, 127.0.0.3:1 and 2 more;',
    )
    const twins = [status({}), status({ id: testId('c'), name: 'b@y' })]
    expect(absence('b', view(twins[0]!, { peers: () => twins }))).toEqual({
      standing: 'ambiguous',
      why: 'the name matches 2 members; use a node id',
    })
  })
})

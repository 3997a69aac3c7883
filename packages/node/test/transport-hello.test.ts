// The node's hello rides in the transport's handshake confirmation (TransportOptions.hello): two
// nodes are linked as soon as their connection is, with no hello envelope on the control lane. A
// peer whose transport carries no hello (a version before it) links through the control-lane
// hello as before, with the name and message-size limit exchanged either way.
import { generateIdentity } from '@peer/identity'
import { nextEvent } from '@peer/testkit/wait'
import { QuicTransport } from '@peer/transport-quic'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { NodeOptions, PeerNode } from '../src/index.js'
import { introduce, type Member, startMember, stopAll } from './helpers.js'

let members: Member[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await stopAll(members)
  members = []
})

/** Two nodes that trust each other (not introduced yet), stopped after the test. */
async function startTwo(
  [nameA, nameB]: [string, string],
  options: { aOptions?: Partial<NodeOptions>; oldTransportOnB?: boolean } = {},
): Promise<[Member, Member]> {
  const [ia, ib] = await Promise.all([generateIdentity(), generateIdentity()])
  const trust = [ia.id, ib.id]
  const a = await startMember(ia, trust, { name: `${nameA}@localhost`, ...options.aOptions })
  members.push(a)
  // an older transport knows no hello: setHello does nothing, its connections carry none
  const setHello = options.oldTransportOnB
    ? vi.spyOn(QuicTransport.prototype, 'setHello').mockImplementation(() => {})
    : undefined
  const b = await startMember(ib, trust, { name: `${nameB}@localhost` })
  setHello?.mockRestore()
  members.push(b)
  return [a, b]
}

async function pair(options: { oldTransportOnB?: boolean } = {}): Promise<[PeerNode, PeerNode]> {
  const [a, b] = await startTwo(['a', 'b'], { ...options, aOptions: { maxMessageSize: 64 * 1024 } })
  const up = nextEvent<CustomEvent>(a.node, 'peer:up')
  const upB = nextEvent<CustomEvent>(b.node, 'peer:up')
  introduce([a, b])
  expect((await up).detail.name).toBe('b@localhost')
  expect((await upB).detail.name).toBe('a@localhost')
  return [a.node, b.node]
}

describe('the hello in the handshake', () => {
  it('links two nodes without a hello envelope, names and limits exchanged', async () => {
    const [a, b] = await pair()
    // no envelope has crossed yet: the hello came with the connection
    expect(a.peers()[0]!.stats.messagesReceived).toBe(0)
    expect(b.peers()[0]!.stats.messagesReceived).toBe(0)
    b.handle('echo', (payload) => payload)
    a.handle('echo', (payload) => payload)
    expect(await a.request('b', 'echo', 'x')).toBe('x')
    expect(await b.request('a', 'echo', 'y')).toBe('y')
    // a's limit (64 KiB) reached b through the transport's hello: b never sends a's more
    await expect(b.request('a', 'echo', 'z'.repeat(100 * 1024))).rejects.toThrow(/too large|exceeds|limit/i)
  })

  it('simultaneous dials: a request made at peer:up on either side is answered (never on the losing connection)', async () => {
    // both nodes dial each other at once; the registries keep the connection dialed by the lower
    // id. A link that came up on the other one would fail its request as replaced.
    for (let round = 0; round < 8; round++) {
      const [a, b] = await startTwo([`a${round}`, `b${round}`])
      a.node.handle('echo', (payload) => payload)
      b.node.handle('echo', (payload) => payload)
      const answered = (from: PeerNode, to: string) =>
        new Promise<unknown>((resolve, reject) => {
          from.addEventListener('peer:up', () => from.request(to, 'echo', to).then(resolve, reject), {
            once: true,
          })
        })
      const both = Promise.all([answered(a.node, b.node.id), answered(b.node, a.node.id)])
      introduce([a, b])
      expect(await both).toEqual([b.node.id, a.node.id])
    }
  })

  it('links with a peer whose transport carries no hello, through the control-lane hello', async () => {
    const [a, b] = await pair({ oldTransportOnB: true })
    expect(a.peers()[0]!.stats.messagesReceived).toBeGreaterThanOrEqual(1)
    b.handle('echo', (payload) => payload)
    a.handle('echo', (payload) => payload)
    expect(await a.request('b', 'echo', 'x')).toBe('x')
    expect(await b.request('a', 'echo', 'y')).toBe('y')
    await expect(b.request('a', 'echo', 'z'.repeat(100 * 1024))).rejects.toThrow(/too large|exceeds|limit/i)
  })
})

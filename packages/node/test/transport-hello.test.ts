// The node's hello rides in the transport's handshake confirmation (TransportOptions.hello): two
// nodes are linked as soon as their connection is, with no hello envelope on the control lane. A
// peer whose transport carries no hello (a version before it) links through the control-lane
// hello as before, with the name and message-size limit exchanged either way.
import { generateIdentity, type Identity } from '@peer/identity'
import { ManualBackend } from '@peer/testkit/manual-discovery'
import { nextEvent } from '@peer/testkit/wait'
import { type Connection, createTransport, QuicTransport } from '@peer/transport-quic'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../src/envelope.js'
import { createNode, type NodeOptions, type PeerNode, PeerUnavailableError } from '../src/index.js'
import { introduce, type Member, startMember, stopAll } from './helpers.js'

let members: Member[] = []
const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
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

describe('a listener that promises to keep the connection (adopted, in its hello)', () => {
  /** Two identities, the first with the higher id (the dialer that could lose a simultaneous dial). */
  async function higherAndLower(): Promise<[Identity, Identity]> {
    for (;;) {
      const [x, y] = await Promise.all([generateIdentity(), generateIdentity()])
      if (x.id !== y.id) return x.id > y.id ? [x, y] : [y, x]
    }
  }

  /**
   * A bare transport listener (not a node) whose hello is a node's, with or without `adopted`: it
   * never opens a lane, so a dialer that waits for the listener's first lane never gets one.
   */
  async function bareListener(identity: Identity, trusted: string, adopted: boolean) {
    const transport = createTransport({
      identity,
      trust: (id) => id === trusted,
      hello: encodeEnvelope({ kind: 'hello', name: 'bare@localhost', adopted }, Infinity),
    })
    const listener = await transport.listen({ host: '127.0.0.1', port: 0 })
    const accepted: Connection[] = []
    listener.addEventListener('connection', (event) => accepted.push(event.detail.connection))
    cleanups.push(() => transport.close())
    return { listener, accepted }
  }

  async function dialer(identity: Identity, bare: Identity, address: { host: string; port: number }) {
    const discovery = new ManualBackend()
    const node = await createNode({
      identity,
      trust: [bare.id],
      name: 'dialer@localhost',
      discovery,
      connect: 'on-demand',
      helloTimeoutMs: 1500,
    })
    cleanups.push(() => node.stop())
    discovery.announcePeer(bare.id, [address])
    return node
  }

  it('a dialer with the higher id uses the connection at once when the listener promised to keep it', async () => {
    const [high, low] = await higherAndLower()
    const { listener } = await bareListener(low, high.id, true)
    const node = await dialer(high, low, listener.address)
    const up = nextEvent<CustomEvent>(node, 'peer:up')
    // the send dials and waits for the link: without the promise it would fail after helloTimeoutMs
    await node.send(low.id, 'note', 'x')
    expect((await up).detail).toMatchObject({ id: low.id, name: 'bare@localhost', direction: 'outbound' })
  })

  it('without the promise it waits for the listener to show it took the connection, then gives up', async () => {
    const [high, low] = await higherAndLower()
    const { listener } = await bareListener(low, high.id, false)
    const node = await dialer(high, low, listener.address)
    const error = await node.request(low.id, 'echo', 'x', { timeoutMs: 15_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(String((error as Error).message)).toMatch(/did not take the connection/)
    expect(node.peers()).toHaveLength(0)
  })
})

it("a node's listener promises to keep an inbound connection only while nothing of its own competes", async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const node = await createNode({ identity: mine, trust: [theirs.id], name: 'keeper@localhost' })
  cleanups.push(() => node.stop())
  const bare = createTransport({
    identity: theirs,
    trust: (id) => id === mine.id,
    hello: encodeEnvelope({ kind: 'hello', name: 'bare@localhost' }, Infinity),
  })
  cleanups.push(() => bare.close())
  const helloOf = (conn: Connection) => decodeEnvelope(conn.remoteHello!) as { adopted?: boolean }
  const up = nextEvent<CustomEvent>(node, 'peer:up')
  const first = await bare.dial(node.address, { expectedId: node.id })
  expect(helloOf(first).adopted).toBe(true)
  await up
  // the node has a connection to the peer now: a second one gets no promise
  const second = await bare.dial(node.address, { expectedId: node.id })
  expect(helloOf(second).adopted).toBeUndefined()
})

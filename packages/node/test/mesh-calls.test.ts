// Calls to a mesh member that is not up yet. A mesh dials every member by itself, so a `send`,
// `request`, `ping` or `openStream` made while that dial is in flight (right after start, or while
// a restarted peer is redialed) waits for it within the call's timeout, as `on-demand` does; a
// member that backs off after failed dials fails the call at once, naming the last dial's error
// (a call must not hammer a peer that is failing); a member that said it was stopping is dialed by
// the call (the registry waits for discovery to report it again, which a static list never does,
// so a restarted server was out of reach for `departedHoldMs`). Real QUIC on loopback.
import type dgram from 'node:dgram'
import { generateIdentity } from '@peer/identity'
import { freePort } from '@peer/testkit/ports'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { createNode, type PeerNode, PeerUnavailableError } from '../src/index.js'
import { FAST_REGISTRY, type Member, startMember, stopAll } from './helpers.js'

const members: Member[] = []
const nodes: PeerNode[] = []
const sockets: dgram.Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close()
  await stopAll(members.splice(0))
  await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
})

it('a request to a member whose dial is in flight waits for the dial, then is answered', async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  // a dial time limit the test never reaches: only the peer coming up can end the dial
  const registry = { ...FAST_REGISTRY, dialTimeoutMs: 600_000 }
  const a = await startMember(mine, [theirs.id], { name: 'a@localhost', registry })
  members.push(a)
  // b's port answers nothing yet: a's dial to it stays in flight
  const { socket, port } = await silentUdpSocket()
  a.discovery.announcePeer(theirs.id, [{ host: '127.0.0.1', port }], { name: 'b@localhost' })
  await waitFor(() => a.node.members().length === 1, { what: 'b to be a member', timeoutMs: 30_000 })
  expect(a.node.peers()).toEqual([])
  const answer = a.node.request('b', 'echo', 'hi', { timeoutMs: 600_000 })
  const up = nextEvent(a.node, 'peer:up', undefined, 600_000)
  // b comes up on that port; a's dial retransmits its first packet and reaches it
  socket.close()
  const b = await startMember(theirs, [mine.id], { name: 'b@localhost', listen: { host: '127.0.0.1', port } })
  members.push(b)
  b.node.handle('echo', (payload) => payload)
  expect(await answer).toBe('hi')
  await up
})

it('a call to a member that backs off after a failed dial fails at once with the reason', async () => {
  const [mine, theirs, other] = await Promise.all([
    generateIdentity(),
    generateIdentity(),
    generateIdentity(),
  ])
  // a back-off the test never outlasts: no dial after the first unless a call starts one
  const registry = { ...FAST_REGISTRY, backoff: { initialDelayMs: 600_000, maxDelayMs: 600_000 } }
  const a = await startMember(mine, [theirs.id], { name: 'a@localhost', registry })
  const c = await startMember(other, [mine.id], { name: 'c@localhost' })
  members.push(a, c)
  const failed = nextEvent(a.node, 'peer:dial-failed', undefined, 60_000)
  // a stale record: b's id at c's address (c answers with its own id: a pinning error)
  a.discovery.announcePeer(theirs.id, [c.node.address], { name: 'b@localhost' })
  await failed
  const error = await a.node.request('b', 'echo', 'hi', { timeoutMs: 600_000 }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(PeerUnavailableError)
  expect((error as PeerUnavailableError).message).toMatch(/the next dial in \d+ ms after 1 failed dial/)
  expect((error as PeerUnavailableError).lastDialError).toMatch(/server identity mismatch/)
})

it('a call to a member that said it was stopping dials it: a restart behind a list that never announces it again', async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  // the registry's own redial after a departure comes later than any test lasts
  const a = await startMember(mine, [theirs.id], {
    name: 'a@localhost',
    registry: { ...FAST_REGISTRY, departedHoldMs: 600_000 },
  })
  members.push(a)
  const port = await freePort({ protocols: ['udp'] })
  // b knows nothing of a (no discovery): only a's dials can connect them
  const startB = async () => {
    const b = await createNode({
      identity: theirs,
      trust: [mine.id],
      name: 'b@localhost',
      listen: { host: '127.0.0.1', port },
    })
    b.handle('echo', (payload) => payload)
    return b
  }
  const first = await startB()
  nodes.push(first)
  a.discovery.announcePeer(theirs.id, [{ host: '127.0.0.1', port }], { name: 'b@localhost' })
  await a.node.waitForPeer(theirs.id, { timeoutMs: 60_000 })
  const down = nextEvent<CustomEvent<{ reason: string }>>(a.node, 'peer:down', undefined, 60_000)
  await first.stop()
  expect((await down).detail.reason).toBe('shutdown')
  const again = await startB()
  nodes.push(again)
  expect(a.node.knownPeers()[0]).toMatchObject({ state: 'departed' })
  expect(await a.node.request(theirs.id, 'echo', 'back', { timeoutMs: 600_000 })).toBe('back')
})

it('calls waiting for one peer are bounded (maxQueuedMessages): one more fails at once; each that ends frees its place', async () => {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const { socket, port } = await silentUdpSocket()
  sockets.push(socket)
  // a dial that never ends by itself, and calls that never time out: only aborts and stop end them
  const a = await startMember(mine, [theirs.id], {
    registry: { ...FAST_REGISTRY, dialTimeoutMs: 600_000 },
    transport: { maxIdleTimeoutMs: 600_000 },
    requestTimeoutMs: 600_000,
    maxQueuedMessages: 100,
  })
  members.push(a)
  a.discovery.announcePeer(theirs.id, [{ host: '127.0.0.1', port }], { name: 'b@localhost' })
  await waitFor(() => a.node.members().length === 1, { what: 'b to be a member', timeoutMs: 30_000 })
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'done',
      (e: Error) => e.name,
    )
  const many = (n: number, call: () => Promise<unknown>) => Array.from({ length: n }, () => outcome(call()))
  // 100 requests wait for the dial; the next call fails at once
  const abort = new AbortController()
  const waiting = many(100, () => a.node.request(theirs.id, 'echo', 0, { signal: abort.signal }))
  expect(await outcome(a.node.send(theirs.id, 't', 'one too many'))).toBe('TooManyRequestsError')
  // they end (aborted): their places are free again, for a loop of sends nobody awaits
  abort.abort()
  expect(new Set(await Promise.all(waiting))).toEqual(new Set(['AbortError']))
  const sends = many(150, () => a.node.send(theirs.id, 't', 'x'))
  expect(await Promise.all(sends.slice(100))).toEqual(
    Array.from({ length: 50 }, () => 'TooManyRequestsError'),
  )
  await a.node.stop()
  expect(new Set(await Promise.all(sends.slice(0, 100)))).toEqual(new Set(['NodeStoppedError']))
})

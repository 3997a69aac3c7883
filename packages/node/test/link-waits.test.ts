// Calls waiting for one peer's link share one wait (the dial, then the hello): each call keeps only
// its own timeout, signal and name for the peer, and the shared wait ends with its last caller.
// Real QUIC on loopback; members whose port answers nothing yet (a silent UDP socket).
import type dgram from 'node:dgram'
import v8 from 'node:v8'
import vm from 'node:vm'
import { generateIdentity } from '@peer/identity'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { PeerUnavailableError } from '../src/index.js'
import { FAST_REGISTRY, type Member, startMember, stopAll } from './helpers.js'

const members: Member[] = []
const sockets: dgram.Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close()
  await stopAll(members.splice(0))
})

async function silentPort(): Promise<{ socket: dgram.Socket; port: number }> {
  const silent = await silentUdpSocket()
  sockets.push(silent.socket)
  return silent
}

/** `a` (on-demand, dials and calls that never end by themselves) with `b` a member at a silent port. */
async function waitingPair(options: { maxQueuedMessages?: number } = {}) {
  const [mine, theirs] = await Promise.all([generateIdentity(), generateIdentity()])
  const { socket, port } = await silentPort()
  const a = await startMember(mine, [theirs.id], {
    name: 'a@localhost',
    connect: 'on-demand',
    registry: { ...FAST_REGISTRY, dialTimeoutMs: 600_000 },
    transport: { maxIdleTimeoutMs: 600_000 },
    requestTimeoutMs: 600_000,
    ...options,
  })
  members.push(a)
  a.discovery.announcePeer(theirs.id, [{ host: '127.0.0.1', port }], { name: 'b@localhost' })
  await waitFor(() => a.node.members().length === 1, { what: 'b to be a member', timeoutMs: 30_000 })
  const startB = async () => {
    socket.close()
    sockets.splice(sockets.indexOf(socket), 1)
    const b = await startMember(theirs, [mine.id], {
      name: 'b@localhost',
      listen: { host: '127.0.0.1', port },
    })
    members.push(b)
    b.node.handle('echo', (payload) => payload)
    return b
  }
  return { a, id: theirs.id, startB }
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  )

it('callers of one dial keep their own timeout, signal and name for the peer', async () => {
  const { a, id, startB } = await waitingPair()
  const abort = new AbortController()
  const short = outcome(a.node.request('b', 'echo', 1, { timeoutMs: 300 }))
  const aborted = outcome(a.node.request(id, 'echo', 2, { signal: abort.signal }))
  const byName = outcome(a.node.request('b', 'echo', 3))
  const byId = outcome(a.node.request(id, 'echo', 4))
  const timedOut = (await short) as { error: PeerUnavailableError }
  expect(timedOut.error).toBeInstanceOf(PeerUnavailableError)
  expect(timedOut.error.message).toMatch(/^peer b is unavailable: not up within 300 ms/)
  abort.abort()
  expect(((await aborted) as { error: Error }).error.name).toBe('AbortError')
  // the others still wait on the same dial, which reaches b once it is up
  await startB()
  expect(await byName).toEqual({ value: 3 })
  expect(await byId).toEqual({ value: 4 })
})

it('a failed dial is said to each caller by the name it used', async () => {
  const [mine, theirs, other] = await Promise.all([
    generateIdentity(),
    generateIdentity(),
    generateIdentity(),
  ])
  const a = await startMember(mine, [theirs.id], { name: 'a@localhost', connect: 'on-demand' })
  const c = await startMember(other, [mine.id], { name: 'c@localhost' })
  members.push(a, c)
  // a stale record: b's id at c's address (c answers with its own id: the dial fails pinning)
  a.discovery.announcePeer(theirs.id, [c.node.address], { name: 'b@localhost' })
  await waitFor(() => a.node.members().length === 1, { what: 'b to be a member', timeoutMs: 30_000 })
  const [byName, byId] = await Promise.all([
    outcome(a.node.request('b', 'echo', 1, { timeoutMs: 60_000 })),
    outcome(a.node.request(theirs.id, 'echo', 2, { timeoutMs: 60_000 })),
  ])
  for (const [said, ref] of [
    [byName, 'b'],
    [byId, theirs.id],
  ] as const) {
    const { error } = said as { error: PeerUnavailableError }
    expect(error).toBeInstanceOf(PeerUnavailableError)
    expect(error.peer).toBe(ref)
    expect(error.message.startsWith(`peer ${ref} is unavailable: not connected`)).toBe(true)
    expect(error.lastDialError).toMatch(/server identity mismatch/)
  }
})

it('once every caller has left, the next call starts a wait of its own', async () => {
  const { a, id, startB } = await waitingPair()
  const abort = new AbortController()
  const left = Array.from({ length: 3 }, () => outcome(a.node.send(id, 't', 'x', { signal: abort.signal })))
  abort.abort()
  for (const o of await Promise.all(left)) expect((o as { error: Error }).error.name).toBe('AbortError')
  // nothing waits now; a new call joins no ended wait, and is answered once b is up
  const answer = outcome(a.node.request(id, 'echo', 'again'))
  await startB()
  expect(await answer).toEqual({ value: 'again' })
})

it('a call waiting for a dial holds about a kilobyte, not a wait of its own (6.4 KB each before)', async () => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const heap = () => {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const { a, id } = await waitingPair()
  const calls = 10_000
  const waiting: Array<Promise<unknown>> = []
  // the first wait and its dial, outside the figure
  waiting.push(outcome(a.node.send(id, 't', -1)))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const before = heap()
  for (let i = 0; i < calls - 1; i++) waiting.push(outcome(a.node.send(id, 't', i)))
  const perCall = (heap() - before) / (calls - 1)
  await a.node.stop()
  const names = new Set((await Promise.all(waiting)).map((o) => (o as { error: Error }).error.name))
  expect(names).toEqual(new Set(['NodeStoppedError']))
  expect(perCall).toBeLessThan(2500)
})

// A link that went down is let go: its buffers, lanes and the engine's connection can be collected
// while the peer stays a member (the node still knows it, and a later use dials a new link). The
// connection policy kept the last link of every member it had seen used, so a node held a closed
// connection's state (about 60 KiB of buffers and objects, and the engine's native connection)
// per member until the member was used again or left: unbounded with the membership under
// `on-demand`, and after `stop()` for as long as the node object lived. Real nodes on loopback QUIC.

import { waitUntilCollected } from '@peer/testkit/handles'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { NodeOptions } from '../src/index.js'
import { PeerLink } from '../src/peer-link.js'
import { type Member, startMembers, stopAll } from './helpers.js'

const members: Member[] = []
afterEach(async () => {
  await stopAll(members.splice(0))
})

// every link `peers()` reports, held weakly
const seen: WeakRef<PeerLink>[] = []
const info = PeerLink.prototype.info
beforeAll(() => {
  PeerLink.prototype.info = function (this: PeerLink, fallbackName: string | undefined) {
    seen.push(new WeakRef(this))
    return info.call(this, fallbackName)
  }
})
afterAll(() => {
  PeerLink.prototype.info = info
})

/** Collects garbage until `refs` are gone (a closed link's last promises settle a few turns later). */
const collected = (refs: WeakRef<object>[]) =>
  waitUntilCollected(refs, { what: 'the closed link to be collected', timeoutMs: 30_000 })

async function pair(options: (i: number) => Partial<NodeOptions>): Promise<[Member, Member]> {
  return (await startMembers(2, options, members)) as [Member, Member]
}

/**
 * The link `a` has to `b` and its transport connection (which the registry also tracks), held
 * weakly, after a request over it (a use the policy records).
 */
async function usedLink(a: Member, b: Member, connected = false): Promise<WeakRef<object>[]> {
  // a mesh dials members by itself: wait for the connection rather than race it
  if (connected)
    await waitFor(() => a.node.peers().length === 1, { what: 'the connection', timeoutMs: 30_000 })
  expect(await a.node.request(b.node.id, 'echo', 'hi')).toBe('hi')
  seen.length = 0
  expect(a.node.peers().map((p) => p.id)).toEqual([b.node.id])
  const link = seen[0]?.deref()
  if (link === undefined) throw new Error('peers() reported no link')
  return [new WeakRef(link), new WeakRef(link.connection)]
}

it('on-demand: a link closed as idle is collected while its peer stays a member', async () => {
  const [a, b] = await pair((i) => ({ connect: 'on-demand', idleCloseMs: i === 0 ? 300 : 60_000 }))
  const link = await usedLink(a, b)
  await nextEvent<CustomEvent<{ reason: string }>>(
    a.node,
    'peer:down',
    (e) => e.detail.reason === 'idle',
    30_000,
  )
  expect(a.node.members().map((m) => m.id)).toEqual([b.node.id])
  await collected(link)
  // the member is still used as before: a new link, and its last use is kept
  expect(a.node.members()[0]?.lastUsed).toBeTypeOf('number')
  expect(await a.node.request(b.node.id, 'echo', 'again')).toBe('again')
})

it('mesh: the link to a peer that stopped is collected while the peer stays a member', async () => {
  const [a, b] = await pair(() => ({}))
  const link = await usedLink(a, b, true)
  const down = nextEvent(a.node, 'peer:down', undefined, 30_000)
  await b.node.stop()
  await down
  expect(a.node.members().map((m) => m.id)).toEqual([b.node.id])
  await collected(link)
})

it('a stopped node holds none of its links', async () => {
  const [a, b] = await pair(() => ({}))
  const link = await usedLink(a, b, true)
  await a.node.stop()
  await collected(link)
})

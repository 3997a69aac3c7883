import type { Identity } from '@peer/identity'
import {
  collectGarbage,
  describeSockets,
  settledSockets,
  socketInodes,
  waitUntilCollected,
} from '@peer/testkit/handles'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { beforeAll, expect, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import { identities, LOOPBACK, Pool } from '../fixtures/pool.js'
import type { Kit } from './kit.js'

export function handleScenarios(kit: Kit): void {
  let a: Identity
  let b: Identity
  beforeAll(async () => {
    ;[a, b] = (await identities(2)) as [Identity, Identity]
  })

  // a @matrixai engine may finish its stop in the background, 10-20 s later (see STOP_WAIT_MS);
  // a quinn client endpoint's socket goes at the first garbage collection after close (capability
  // socketsFreedOnClose), even while the application still holds connections and channels
  it('leaves no socket open once its transports are closed (listener, dialed and accepted connections)', async () => {
    const pool = new Pool(kit.pair)
    // the baseline once garbage of earlier scenarios is collected (their quinn sockets close then)
    await settledSockets()
    const before = socketInodes()
    const opened = () => [...socketInodes()].filter((inode) => !before.has(inode))
    const { client, server, listener } = await pool.pair(a, b)
    const ch = await client.openChannel()
    await ch.send(Buffer.from('hello'))
    const peer = await server.acceptChannel()
    expect(Buffer.from((await peer.receive())!).toString()).toBe('hello')
    // what an application keeps after closing must not keep sockets (used after the wait)
    const kept = [client, server, listener, ch, peer]
    // a second transport's dial that fails pinning leaves nothing behind either
    const wrong = await pool
      .client(b)
      .dial(listener.address, { expectedId: b.id })
      .catch((e: Error) => e)
    expect(wrong).toBeInstanceOf(Error)
    expect(opened().length).toBeGreaterThan(0)
    await pool.closeAll()
    expect(client.isClosed && server.isClosed).toBe(true)
    const needsGc = kit.lacks('both', 'socketsFreedOnClose') !== undefined
    await waitFor(
      () => {
        if (needsGc) collectGarbage()
        return opened().length === 0
      },
      { timeoutMs: 40_000, intervalMs: 100, what: 'the sockets this scenario opened to close' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still open: ${describeSockets(opened()).join(', ')}`)
    })
    expect(kept.every((o) => o !== undefined)).toBe(true)
  }, 60_000)

  // what a long-running transport keeps of a connection that closed: nothing (a node that churns
  // through peers must not grow), on both sides, while both transports and the listener run on
  it('keeps nothing of a closed connection while its transports run on (both ends collected)', async () => {
    const pool = new Pool(kit.pair)
    try {
      const server = pool.server(a)
      const client = pool.client(b)
      const listener = await server.listen(LOOPBACK)
      // the connections and channels are referenced only inside this function
      const used = async (): Promise<WeakRef<object>[]> => {
        const accepted = nextEvent<CustomEvent>(listener, 'connection')
        const dialed = await client.dial(listener.address, { expectedId: a.id })
        const inbound = (await accepted).detail.connection as Connection
        const ch = await dialed.openChannel()
        await ch.send(Buffer.from('hello'))
        const peer = await inbound.acceptChannel()
        expect(Buffer.from((await peer.receive())!).toString()).toBe('hello')
        await dialed.close('done')
        await inbound.closed
        return [dialed, inbound, ch, peer].map((o) => new WeakRef(o))
      }
      const refs = await used()
      await waitUntilCollected(refs, {
        timeoutMs: 40_000,
        what: 'the closed connection to be collected',
      }).catch((error: Error) => {
        const kept = ['dialed', 'accepted', 'channel', 'accepted channel'].filter((_, i) => refs[i]?.deref())
        throw new Error(`${error.message}; still held: ${kept.join(', ')}`)
      })
      // and the transports still work
      const again = await client.dial(listener.address, { expectedId: a.id })
      await again.close('done')
    } finally {
      await pool.closeAll()
    }
  }, 60_000)
}

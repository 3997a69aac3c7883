// A listener that closed while connections were open keeps its UDP port through QUIC's closing
// period, in the background. A new listen on that port in the same process waits for the release
// instead of failing with EADDRINUSE (a node stopped and started again on a fixed port).
import type { Identity } from '@peer/identity'
import { beforeAll, expect, it } from 'vitest'
import { awaitPortRelease, trackPort } from '../src/port-release.js'
import { identities, LOOPBACK, Pool } from './fixtures/pool.js'

const pool = Pool.forFile()
let a: Identity
let b: Identity

beforeAll(async () => {
  ;[a, b] = (await identities(2)) as [Identity, Identity]
})

it('a listen on the port of a listener that is still closing waits for it and succeeds', async () => {
  for (let round = 0; round < 3; round++) {
    const { listener, client } = await pool.pair(a, b)
    const port = listener.address.port
    // close without waiting: the connection is open, so the engine drains before releasing
    const closing = listener.close('restart')
    const again = await pool.make(a).listen({ ...LOOPBACK, port })
    expect(again.address.port).toBe(port)
    await closing
    await again.close('done')
    await client.close('done')
  }
})

it('waits only for its own port, only while its listener closes, is bounded and honours its signal', async () => {
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const held = trackPort({ host: '127.0.0.1', port: 9 }, released)
  // another port or port 0: no wait
  await awaitPortRelease({ host: '127.0.0.1', port: 10 })
  await awaitPortRelease({ host: '127.0.0.1', port: 0 })
  // a listener that is still open (not closing): no wait, the bind reports the busy port at once
  // (a wait here would last the 10 s bound: the release has not come)
  let settled = false
  void awaitPortRelease({ host: '127.0.0.1', port: 9 }).then(() => {
    settled = true
  })
  await new Promise((resolve) => setImmediate(resolve))
  expect(settled).toBe(true)
  held.closing()
  // an aborted wait rejects with AbortError
  const controller = new AbortController()
  const waiting = awaitPortRelease({ host: '127.0.0.1', port: 9 }, controller.signal)
  controller.abort()
  await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
  // the release ends the wait
  const waiting2 = awaitPortRelease({ host: '127.0.0.1', port: 9 })
  release()
  await waiting2
})

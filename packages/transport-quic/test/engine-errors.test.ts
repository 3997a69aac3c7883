// The engine rethrows its "internal" errors from event listeners, which would end the process.
// src/engine.ts replaces those listeners; these tests raise such errors on real engine objects.
import { errors, events } from '@matrixai/quic'
import type { Identity } from '@peer/identity'
import { expect, it } from 'vitest'
import { ENGINE_OBJECT } from '../src/engine.js'
import { identities, Pool } from './fixtures/pool.js'

const pool = Pool.forFile({ server: 'matrixai', client: 'matrixai' }) // tests of the matrixai engine itself
const [a, b] = (await identities(2)) as [Identity, Identity]
const { client, server } = await pool.pair(a, b)

function engineStream(stream: object): EventTarget & { connection: EventTarget } {
  return (stream as Record<symbol, EventTarget & { connection: EventTarget }>)[ENGINE_OBJECT]!
}

it('an internal engine error on a stream ends that stream, not the process or the connection', async () => {
  const s = await client.openStream()
  engineStream(s).dispatchEvent(
    new events.EventQUICStreamError({
      detail: new errors.ErrorQUICStreamInternal('synthetic internal error'),
    }),
  )
  const reader = s.readable.getReader()
  const outcome = await Promise.race([
    reader.read().then(
      () => 'ended',
      () => 'errored',
    ),
    new Promise((r) => setTimeout(() => r('hung'), 3000)),
  ])
  expect(outcome).not.toBe('hung')
  // the connection still works
  const ch = await client.openChannel()
  await ch.send(Buffer.from('still here'))
  const peer = await server.acceptChannel()
  expect(Buffer.from((await peer.receive())!).toString()).toBe('still here')
})

it('an internal engine error on a connection closes that connection with by "error"-or-local, not the process', async () => {
  const s = await client.openStream()
  engineStream(s).connection.dispatchEvent(
    new events.EventQUICConnectionError({
      detail: new errors.ErrorQUICConnectionInternal('synthetic internal error'),
    }),
  )
  const info = await client.closed
  expect(['error', 'local']).toContain(info.by)
  expect(client.isClosed).toBe(true)
})

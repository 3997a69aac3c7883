// A listener that stops accepting (the first step of a graceful stop) refuses new connections
// with a reason the dialer reads, keeps the open ones, and close reasons map to codes.
import type { Identity } from '@peer/identity'
import { recordEvents } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { CODE, closeCodeFor, HandshakeError } from '../src/index.js'
import { identities, LOOPBACK, Pool } from './fixtures/pool.js'

const pool = Pool.forFile()
const [a, b] = (await identities(2)) as [Identity, Identity]
const pair = pool.pairOf(a, b)

describe('stopAccepting', () => {
  it('refuses new connections with its reason and keeps the open ones', async () => {
    const { client, server, listener } = await pair()
    const rejected = recordEvents(listener, ['connection:rejected'])
    listener.stopAccepting('shutdown')
    const dial = pool.make(b).dial(listener.address, { expectedId: a.id })
    const error = await dial.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(HandshakeError)
    expect((error as HandshakeError).message).toMatch(/shutdown/)
    expect((error as HandshakeError).code).toBe(CODE.SHUTDOWN)
    expect(rejected.of('connection:rejected')[0]?.detail).toMatchObject({ reason: 'shutdown' })
    // the connection made before still works
    const [out, inc] = await Promise.all([client.openChannel(), server.acceptChannel()])
    await out.send(new TextEncoder().encode('still open'))
    await out.flush()
    expect(new TextDecoder().decode(await inc.receive())).toBe('still open')
  })

  it('refuses a client that was confirming when it began to refuse: same code, event and count', async () => {
    const listener = await pool.make(a).listen(LOOPBACK)
    const rejected = recordEvents(listener, ['connection:rejected'])
    // onCommit runs right before the client's confirmation goes out: the listener reads the
    // confirmation after it began to refuse
    const client = await pool
      .make(b)
      .dial(listener.address, { expectedId: a.id, onCommit: () => listener.stopAccepting('maintenance') })
    expect(await client.closed).toMatchObject({
      by: 'remote',
      reason: 'maintenance',
      code: CODE.LIMIT_EXCEEDED,
    })
    expect(rejected.of('connection:rejected').map((e) => e.detail)).toMatchObject([
      { id: b.id, reason: 'maintenance' },
    ])
    expect(listener.connections).toEqual([])
  })

  it('close(reason) without a code sends SHUTDOWN for shutdown and REPLACED for duplicate', async () => {
    expect(closeCodeFor('shutdown')).toBe(CODE.SHUTDOWN)
    expect(closeCodeFor('duplicate')).toBe(CODE.REPLACED)
    expect(closeCodeFor('bye')).toBe(CODE.NO_ERROR)
    const first = await pair()
    await first.client.close('shutdown')
    expect(await first.server.closed).toMatchObject({ by: 'remote', reason: 'shutdown', code: CODE.SHUTDOWN })
    const second = await pair()
    await second.server.close('duplicate')
    expect(await second.client.closed).toMatchObject({
      by: 'remote',
      reason: 'duplicate',
      code: CODE.REPLACED,
    })
  })
})

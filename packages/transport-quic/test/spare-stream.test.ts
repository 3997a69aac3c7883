// The quinn engine asks the binding for a stream before it is needed: opening one is a round trip
// through the binding's runtime (2-3 ms on a busy machine, for the listener's control stream and
// every first lane of a node), while an unused QUIC stream costs nothing on the wire. At most one
// is held per connection, and it is the next one handed out.
import type { Identity } from '@peer/identity'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadQuinnBinding, type QuinnConnection } from '../src/quinn-binding.js'
import { quinnUnavailable } from './conformance/kit.js'
import { identities, LOOPBACK, Pool } from './fixtures/pool.js'

const pool = new Pool()
let a: Identity
let b: Identity
beforeAll(async () => {
  ;[a, b] = (await identities(2)) as [Identity, Identity]
})
afterEach(async () => {
  vi.restoreAllMocks()
  await pool.closeAll()
})

describe.skipIf(quinnUnavailable() !== undefined)('quinn spare streams', () => {
  it('each side holds one stream opened ahead; an open takes it and the next is asked for', async () => {
    const loaded = loadQuinnBinding()
    if (!('binding' in loaded)) throw new Error(loaded.reason)
    const proto = (loaded.binding as unknown as { Connection: { prototype: QuinnConnection } }).Connection
      .prototype
    const original = proto.outboundStream
    const calls = new Map<QuinnConnection, number>()
    vi.spyOn(proto, 'outboundStream').mockImplementation(function (this: QuinnConnection) {
      calls.set(this, (calls.get(this) ?? 0) + 1)
      return original.call(this)
    })
    const listener = await pool.make(a, { engine: 'quinn' }).listen(LOOPBACK)
    const accepted = new Promise<void>((resolve) => listener.addEventListener('connection', () => resolve()))
    const conn = await pool.make(b, { engine: 'quinn' }).dial(listener.address, { expectedId: a.id })
    await accepted
    // the listener: its spare became the control stream, and a new spare was asked for; the
    // dialer: one spare, nothing opened yet
    expect([...calls.values()].sort()).toEqual([1, 2])
    const stream = await conn.openStream()
    expect([...calls.values()].sort()).toEqual([2, 2])
    // the stream handed out works both ways
    const [theirs] = await Promise.all([
      (async () => {
        for await (const s of (await listener.connections[0]!.acceptStream())
          .readable as unknown as AsyncIterable<Uint8Array>)
          return s
      })(),
      (async () => {
        const writer = stream.writable.getWriter()
        await writer.write(Uint8Array.of(9, 9))
      })(),
    ])
    expect(theirs?.byteLength).toBeGreaterThan(0)
  })
})

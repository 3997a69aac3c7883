// The quinn engine dials every address from one shared client endpoint (one UDP socket, one
// ~3 MB receive buffer), falling back to an endpoint of its own for an address that did not answer
// through it. quinn offers the address token of the last quinn server it dialed to the next one:
// the engine patch makes a @matrixai server answer such an Initial with a Retry; an unpatched one
// (PEER_QUIC_ENGINE_PATCH=off, in a child process) drops it, which the fallback covers.
import { fileURLToPath } from 'node:url'
import type { Identity } from '@peer/identity'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Connection, ConnectTimeoutError, type Listener } from '../src/index.js'
import { quinnUnavailable } from './conformance/kit.js'
import { identities, LOOPBACK, Pool } from './fixtures/pool.js'

const CHILD = fileURLToPath(new URL('./fixtures/peer-node.ts', import.meta.url))
const pool = new Pool()
const children: RpcChild[] = []
let ids: Identity[]

beforeAll(async () => {
  ids = await identities(4)
})
afterEach(async () => {
  await pool.closeAll()
})
afterAll(async () => {
  await Promise.allSettled(children.map((c) => c.crash()))
})

/** Echoes every stream of every connection `listener` accepts. */
function echo(listener: Listener): Listener {
  listener.addEventListener('connection', ({ detail: { connection } }) => {
    void (async () => {
      for await (const stream of connection.streams())
        void stream.readable.pipeTo(stream.writable).catch(() => {})
    })()
  })
  return listener
}

/** One stream there and back on `conn`: what the server sent after the handshake has arrived. */
async function roundTrip(conn: Connection): Promise<void> {
  const stream = await conn.openStream()
  const writer = stream.writable.getWriter()
  await writer.write(new Uint8Array([1, 2, 3]))
  await writer.close()
  let bytes = 0
  for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
  expect(bytes).toBe(3)
}

describe.skipIf(quinnUnavailable() !== undefined)('quinn client endpoints', () => {
  it('one endpoint (one local port) dials every server', async () => {
    const [me, ...servers] = ids as [Identity, Identity, Identity, Identity]
    const client = pool.make(me, { engine: 'quinn' })
    const ports = new Set<number>()
    for (const server of servers) {
      const listener = await pool.make(server, { engine: 'quinn' }).listen(LOOPBACK)
      const conn = await client.dial(listener.address, { expectedId: server.id })
      ports.add(conn.localAddress.port)
    }
    expect(ports.size).toBe(1)
    expect([...ports][0]).toBeGreaterThan(0)
  }, 60_000)

  it("a matrixai server answers a client that offers another server's address token", async () => {
    const [me, quinnServer, matrixaiServer] = ids as [Identity, Identity, Identity]
    const client = pool.make(me, { engine: 'quinn', connectTimeoutMs: 8000 })
    const q = echo(await pool.make(quinnServer, { engine: 'quinn' }).listen(LOOPBACK))
    const m = await pool.make(matrixaiServer, { engine: 'matrixai' }).listen(LOOPBACK)
    const first = await client.dial(q.address, { expectedId: quinnServer.id })
    // a round trip on the first connection: its NEW_TOKEN has arrived by then
    await roundTrip(first)
    const second = await client.dial(m.address, { expectedId: matrixaiServer.id })
    expect(second.remoteId).toBe(matrixaiServer.id)
    expect(second.localAddress.port).toBe(first.localAddress.port)
  }, 60_000)

  it('an address that does not answer through the shared endpoint gets one of its own', async () => {
    const [me, quinnServer] = ids as [Identity, Identity]
    const child = await spawnChild(CHILD, { env: { PEER_QUIC_ENGINE_PATCH: 'off' } })
    children.push(child)
    const started = await child.call<{ id: string; engine: string }>('init', {
      trustAll: true,
      engine: 'matrixai',
    })
    expect(started.engine).toBe('matrixai')
    const unpatched = await child.call<{ host: string; port: number }>('listen', { host: '127.0.0.1' })
    const client = pool.make(me, { engine: 'quinn', connectTimeoutMs: 3000 })
    const q = echo(await pool.make(quinnServer, { engine: 'quinn' }).listen(LOOPBACK))
    const first = await client.dial(q.address, { expectedId: quinnServer.id })
    await roundTrip(first)
    // the unpatched server drops the Initial that carries the quinn server's token
    await expect(client.dial(unpatched, { expectedId: started.id })).rejects.toBeInstanceOf(
      ConnectTimeoutError,
    )
    const second = await client.dial(unpatched, { expectedId: started.id })
    expect(second.remoteId).toBe(started.id)
    expect(second.localAddress.port).not.toBe(first.localAddress.port)
    // the others still share the first endpoint
    const third = await client.dial(q.address, { expectedId: quinnServer.id })
    expect(third.localAddress.port).toBe(first.localAddress.port)
  }, 60_000)
})

// The quinn engine opens streams ahead of their first use (a binding round trip each, 0.3 to
// 0.4 ms here): the dialer its first lane's while the listener confirms the connection, the
// listener its control stream and the stream of its first lane. The streams opened ahead are used
// first, in order, so stream ids follow the order of use.
import type { Identity } from '@peer/identity'
import { expect, it } from 'vitest'
import { loadQuinnBinding, type QuinnConnection, type QuinnStream } from '../src/quinn-binding.js'
import { QuinnEngineConnection } from '../src/quinn-connection.js'
import { identities, Pool } from './fixtures/pool.js'

const pool = Pool.forFile({ server: 'quinn', client: 'quinn' })
const [a, b] = (await identities(2)) as [Identity, Identity]

/** A binding stream that only says its index. */
function fakeStream(index: number): QuinnStream {
  return {
    id: () => String(index),
    read: async () => null,
    write: async () => {},
    finishWrite: () => {},
    resetWrite: () => {},
    stopRead: () => {},
  }
}

it('gives the streams opened ahead first, in order, then opens new ones', async () => {
  let opened = 0
  const conn = {
    outboundStream: async () => fakeStream(10 + opened++),
    closed: () => new Promise<void>(() => {}),
    stats: () => ({ frameRxConnectionClose: 0, udpRxDatagrams: 0, udpTxDatagrams: 0 }),
  } as unknown as QuinnConnection
  const ctx = {
    tuning: { readChunkSize: 65_536, maxStreams: 100 },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  } as never
  const engine = new QuinnEngineConnection(
    conn,
    '/ip4/127.0.0.1/udp/1/quic-v1',
    'x',
    { host: '', port: 0 },
    ctx,
    false,
    () => {},
  )
  engine.preopen(Promise.resolve(fakeStream(0)), Promise.resolve(fakeStream(1)))
  const ids = []
  for (let i = 0; i < 3; i++) ids.push((await engine.openStream()).id)
  expect(ids).toEqual([0, 4, 40]) // client stream ids: 4 * index
  expect(opened).toBe(1)
})

it('opens the first lane stream while the connection is confirmed, on both sides', async () => {
  const loaded = loadQuinnBinding()
  if ('reason' in loaded) throw new Error(`the quinn binding must load here: ${loaded.reason}`)
  const binding = loaded.binding as unknown as {
    Client: { prototype: { outboundConnection(...args: unknown[]): Promise<QuinnConnection> } }
    Connection: { prototype: { outboundStream(): Promise<QuinnStream> } }
  }
  const dialed = new Set<unknown>()
  const opens = new Map<unknown, number>()
  const connect = binding.Client.prototype.outboundConnection
  const open = binding.Connection.prototype.outboundStream
  binding.Client.prototype.outboundConnection = async function (this: unknown, ...args: unknown[]) {
    const conn = await connect.apply(this, args)
    dialed.add(conn)
    return conn
  }
  binding.Connection.prototype.outboundStream = function (this: unknown) {
    opens.set(this, (opens.get(this) ?? 0) + 1)
    return open.call(this)
  }
  try {
    const { client, server } = await pool.pair(a, b)
    const side = (dialer: boolean) => [...opens].filter(([c]) => dialed.has(c) === dialer).map(([, n]) => n)
    // before any channel: the dialer opened one stream, the listener two (control and first lane)
    expect(side(true)).toEqual([1])
    expect(side(false)).toEqual([2])
    // the first channel on each side takes the stream opened ahead; the next one opens its own
    const [out, inc] = await Promise.all([client.openChannel(), server.acceptChannel()])
    const [back, incBack] = await Promise.all([server.openChannel(), client.acceptChannel()])
    expect(side(true)).toEqual([1])
    expect(side(false)).toEqual([2])
    await client.openChannel()
    expect(side(true)).toEqual([2])
    // and they carry messages both ways
    await out.send(Uint8Array.of(1))
    await back.send(Uint8Array.of(2))
    expect([...((await inc.receive()) ?? [])]).toEqual([1])
    expect([...((await incBack.receive()) ?? [])]).toEqual([2])
  } finally {
    binding.Client.prototype.outboundConnection = connect
    binding.Connection.prototype.outboundStream = open
  }
})

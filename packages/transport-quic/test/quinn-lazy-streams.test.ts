// A quinn stream builds its web streams (about 19 us and 5 KB of heap the pair) only when they are
// used: a message channel works on the engine's own reads and writes and never does.
import { nextEvent } from '@peer/testkit/wait'
import { afterEach, expect, it } from 'vitest'
import { type Connection, createTransport } from '../src/index.js'
import { FramedMessageChannel } from '../src/message-channel.js'
import type { QuinnStream } from '../src/quinn-binding.js'
import { wrapStream } from '../src/quinn-stream.js'
import { KIND_CHANNEL } from '../src/wire.js'
import { CHANNEL_OPTIONS } from './fixtures/channel-options.js'
import { identities, LOOPBACK } from './fixtures/pool.js'

const OPTIONS = CHANNEL_OPTIONS

/** A binding stream that serves `incoming` then the end, and records writes and the finish. */
function bindingStream(incoming: Uint8Array[]) {
  const log: string[] = []
  const stream: QuinnStream = {
    id: () => '0',
    read: async () => incoming.shift() ?? null,
    write: async (data) => {
      log.push(`write ${data.byteLength}`)
    },
    finishWrite: () => log.push('finish'),
    resetWrite: () => log.push('reset'),
    stopRead: () => log.push('stop'),
  }
  return { stream, log }
}

const built = { readable: 0, writable: 0 }
const { ReadableStream: RealReadable, WritableStream: RealWritable } = globalThis
globalThis.ReadableStream = class extends RealReadable<unknown> {
  constructor(...args: ConstructorParameters<typeof ReadableStream>) {
    super(...args)
    built.readable++
  }
} as typeof ReadableStream
globalThis.WritableStream = class extends RealWritable<unknown> {
  constructor(...args: ConstructorParameters<typeof WritableStream>) {
    super(...args)
    built.writable++
  }
} as typeof WritableStream
afterEach(() => {
  built.readable = 0
  built.writable = 0
})

it('a channel on a quinn stream sends, receives and ends without building web streams', async () => {
  const frame = Uint8Array.of(0, 0, 0, 2, 7, 8)
  const { stream, log } = bindingStream([frame])
  const engine = wrapStream(stream, 64 * 1024, false)
  const channel = new FramedMessageChannel(
    engine,
    undefined,
    OPTIONS,
    () => undefined,
    undefined,
    undefined,
    true,
  )
  channel.preamble(KIND_CHANNEL)
  await channel.send(Uint8Array.of(1, 2, 3))
  expect([...((await channel.receive()) ?? [])]).toEqual([7, 8])
  expect(await channel.receive()).toBeUndefined()
  await channel.close()
  expect(log).toEqual(['write 8', 'finish']) // kind byte and one frame in one write, then the end
  expect(built).toEqual({ readable: 0, writable: 0 })
})

it('builds them on first use, once, for a user of the stream', async () => {
  const { stream, log } = bindingStream([Uint8Array.of(9)])
  const engine = wrapStream(stream, 64 * 1024, false)
  expect(built).toEqual({ readable: 0, writable: 0 })
  const reader = engine.readable.getReader()
  expect(engine.readable).toBe(engine.readable)
  expect([...((await reader.read()).value ?? [])]).toEqual([9])
  const writer = engine.writable.getWriter()
  await writer.write(Uint8Array.of(1))
  await writer.close()
  expect(built).toEqual({ readable: 1, writable: 1 })
  expect(log).toEqual(['write 1', 'finish'])
})

it('a real quinn connection confirms and closes (hellos, acknowledgement, close notice) without web streams', async () => {
  const [a, b] = await identities(2)
  const server = createTransport({
    identity: a!,
    trust: () => true,
    engine: 'quinn',
    hello: Uint8Array.of(1),
  })
  const client = createTransport({
    identity: b!,
    trust: () => true,
    engine: 'quinn',
    hello: Uint8Array.of(2),
  })
  try {
    const listener = await server.listen(LOOPBACK)
    const accepted = nextEvent<CustomEvent<{ connection: Connection }>>(listener, 'connection')
    const conn = await client.dial(listener.address, { expectedId: a!.id })
    const inbound = (await accepted).detail.connection
    expect([conn.remoteHello, inbound.remoteHello]).toEqual([Uint8Array.of(1), Uint8Array.of(2)])
    // the close notice reaches the peer: it closes with our code and reason
    await conn.close('done', 7)
    expect(await inbound.closed).toMatchObject({ by: 'remote', code: 7, reason: 'done' })
    expect(built).toEqual({ readable: 0, writable: 0 })
  } finally {
    await Promise.all([client.close(), server.close()])
  }
})

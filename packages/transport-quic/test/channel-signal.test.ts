// `send` and `flush` take `{ signal }`: aborting stops the wait (the call rejects with the
// AbortError), not the message, which is still sent; an already-aborted signal queues nothing.
import { getEventListeners } from 'node:events'
import { AbortError } from '@peer/discovery-core'
import type { Identity } from '@peer/identity'
import { describe, expect, it } from 'vitest'
import type { MessageChannel } from '../src/index.js'
import { SENT } from '../src/internal.js'
import { collect, identities, Pool } from './fixtures/pool.js'

const pool = Pool.forFile()
const [a, b] = (await identities(2)) as [Identity, Identity]
// a small receive window, so a peer that does not read soon stops the sender
const WINDOW = { initialMaxStreamData: 256 * 1024, maxStreamWindow: 256 * 1024 }
const pair = pool.pairOf(a, b)

const MESSAGE_BYTES = 64 * 1024
/** Far more than the peer's window, its engine and one read chunk can take while it does not read. */
const BACKLOG = 64 // x 64 KiB = 4 MiB

/** A message carrying its index in its first 4 bytes. */
function message(i: number): Uint8Array {
  const m = Buffer.alloc(MESSAGE_BYTES, i & 0xff)
  m.writeUInt32BE(i, 0)
  return m
}
const indexOf = (m: Uint8Array): number => Buffer.from(m.buffer, m.byteOffset, m.byteLength).readUInt32BE(0)

/** A channel whose receiving side does not read (it holds one message, then stops reading). */
async function stalledChannel(): Promise<{ out: MessageChannel; inc: MessageChannel }> {
  const { client, server } = await pair(WINDOW, {})
  const [out, inc] = await Promise.all([
    client.openChannel({ maxBufferedBytes: 128 * 1024 }),
    server.acceptChannel({ maxQueuedMessages: 1 }),
  ])
  return { out, inc }
}

/** Whether `promise` settled within a macrotask turn (it cannot settle later for a stalled peer). */
function track(promise: Promise<void>): { settled: () => boolean; result: Promise<unknown> } {
  let done = false
  const result = promise.then(
    () => {
      done = true
      return 'resolved'
    },
    (e: unknown) => {
      done = true
      return e
    },
  )
  return { settled: () => done, result }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('MessageChannel send/flush { signal }', () => {
  it('send answers the shared SENT promise while nothing waits, a promise of its own once it must', async () => {
    const { out, inc } = await stalledChannel()
    // 128 KiB may be buffered: a 64 KiB message needs no wait (the node's lanes rely on this to
    // skip a promise per message); a second one goes past the limit, and the peer does not read
    const first = out.send(message(0))
    expect(first).toBe(SENT)
    const second = out.send(message(1))
    expect(second).not.toBe(SENT)
    const received = collect(inc, 2)
    await Promise.all([first, second])
    expect((await received).map(indexOf)).toEqual([0, 1])
  })

  it('aborting a send blocked by a peer that does not read rejects it; the message is still sent', async () => {
    const { out, inc } = await stalledChannel()
    const backlog = Array.from({ length: BACKLOG }, (_, i) => out.send(message(i)))
    const controller = new AbortController()
    const blocked = track(out.send(message(BACKLOG), { signal: controller.signal }))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    await turn()
    await turn()
    expect(blocked.settled()).toBe(false)
    controller.abort()
    const error = await blocked.result
    expect(error).toBeInstanceOf(AbortError)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)

    // the channel still works: once the peer reads, a later send resolves and every message arrives
    const received = collect(inc, BACKLOG + 2)
    await Promise.all(backlog)
    await out.send(message(BACKLOG + 1))
    await out.flush()
    const indices = (await received).map(indexOf)
    expect(indices).toEqual(Array.from({ length: BACKLOG + 2 }, (_, i) => i))
  })

  it('a waiting send that resolves removes its abort listener', async () => {
    const { out, inc } = await stalledChannel()
    const backlog = Array.from({ length: BACKLOG }, (_, i) => out.send(message(i)))
    const controller = new AbortController()
    const waiting = out.send(message(BACKLOG), { signal: controller.signal })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    const received = collect(inc, BACKLOG + 1)
    await Promise.all([...backlog, waiting])
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    expect((await received).length).toBe(BACKLOG + 1)
  })

  it('aborting a flush blocked by a peer that does not read rejects it; the messages are still sent', async () => {
    const { out, inc } = await stalledChannel()
    const backlog = Array.from({ length: BACKLOG }, (_, i) => out.send(message(i)))
    const controller = new AbortController()
    const blocked = track(out.flush({ signal: controller.signal }))
    await turn()
    await turn()
    expect(blocked.settled()).toBe(false)
    controller.abort(new Error('gave up'))
    const error = await blocked.result
    expect(error).toBeInstanceOf(AbortError)
    expect((error as AbortError).cause).toMatchObject({ message: 'gave up' })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)

    const received = collect(inc, BACKLOG + 1)
    await Promise.all(backlog)
    await out.send(message(BACKLOG))
    await out.flush()
    expect((await received).map(indexOf)).toEqual(Array.from({ length: BACKLOG + 1 }, (_, i) => i))
  })

  it('an already-aborted signal rejects send and flush and queues nothing', async () => {
    const { out, inc } = await stalledChannel()
    const controller = new AbortController()
    controller.abort()
    await expect(out.send(message(7), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    await expect(out.flush({ signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    await out.send(message(1))
    await out.close()
    // the peer gets only the message sent without the aborted signal, then the end
    expect((await collect(inc, 2)).map(indexOf)).toEqual([1])
  })
})

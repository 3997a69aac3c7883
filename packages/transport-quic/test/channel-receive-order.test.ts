// The receive side of a message channel, on an in-memory stream (no network):
// - the channel asks its stream for the next read as soon as one delivered, also when a consumer
//   was waiting: the next read is in flight while that consumer handles the message and answers.
//   Holding the read back until the consumer had answered (a macrotask turn) made a @peer/node
//   request on the quinn engine slower, not faster (docs/benchmarks/libp2p.md, 2026-12-04);
// - waits that come with the same signal share one abort listener (wiring one per wait cost
//   microseconds per message); an abort rejects them, a wait with another signal is untouched, and
//   an ended channel leaves no listener on the signal.
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { AsyncQueue } from '../src/async-queue.js'
import { FramedMessageChannel } from '../src/message-channel.js'
import { CHANNEL_OPTIONS } from './fixtures/channel-options.js'

function frame(payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + payload.byteLength)
  out.writeUInt32BE(payload.byteLength, 0)
  out.set(payload, 4)
  return out
}

/** A stream that serves `chunks` one per read and counts the reads asked of it. */
function countingStream(chunks: Uint8Array[]) {
  const state = { pulls: 0 }
  let next = 0
  const readable = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulls++
        if (next >= chunks.length) controller.close()
        else controller.enqueue(chunks[next++] as Uint8Array)
      },
    },
    { highWaterMark: 0 },
  )
  const stream = { id: 0, readable, writable: new WritableStream<Uint8Array>({}), reset() {} }
  return { stream, state }
}

const OPTIONS = CHANNEL_OPTIONS

describe('message channel receive', () => {
  it('has the next read in flight when a waiting consumer handles its message', async () => {
    const chunks = [1, 2, 3].map((i) => frame(Uint8Array.of(i)))
    const { stream, state } = countingStream(chunks)
    const channel = new FramedMessageChannel(stream, undefined, OPTIONS, () => undefined)
    const seen: Array<{ message: number; pullsWhenHandled: number }> = []
    for (;;) {
      const batch = await channel.receiveBatch()
      if (batch === undefined) break
      // reads asked so far when the consumer runs: the one that delivered this message and the next
      for (const m of batch) seen.push({ message: m[0] as number, pullsWhenHandled: state.pulls })
    }
    expect(seen).toEqual([
      { message: 1, pullsWhenHandled: 2 },
      { message: 2, pullsWhenHandled: 3 },
      { message: 3, pullsWhenHandled: 4 },
    ])
  })

  it('reads ahead for a consumer that is busy too (a backlog is not slowed down)', async () => {
    const chunks = Array.from({ length: 20 }, (_, i) => frame(Uint8Array.of(i)))
    const { stream, state } = countingStream(chunks)
    const channel = new FramedMessageChannel(stream, undefined, OPTIONS, () => undefined)
    // nobody waits while the stream is read: every chunk is read without a turn in between
    await new Promise((resolve) => setImmediate(resolve))
    expect(state.pulls).toBe(21) // 20 chunks and the end
    const got: number[] = []
    for (;;) {
      const m = await channel.receive()
      if (m === undefined) break
      got.push(m[0] as number)
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })
})

describe('async queue abort wiring', () => {
  it('shares one listener among the waits of one signal; the abort rejects them', async () => {
    const queue = new AsyncQueue<number>(100)
    const controller = new AbortController()
    const other = new AbortController()
    const waits = [1, 2, 3].map(() => queue.shift({ signal: controller.signal }))
    const unaffected = queue.shift({ signal: other.signal })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1)
    controller.abort()
    for (const w of waits) await expect(w).rejects.toMatchObject({ name: 'AbortError' })
    queue.push(7)
    await expect(unaffected).resolves.toBe(7)
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0)
    // an aborted signal fails the next wait at once
    await expect(queue.shift({ signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('keeps serving waits after many rounds, and lets go of the signal once ended', async () => {
    const queue = new AsyncQueue<number>(100)
    const controller = new AbortController()
    for (let i = 0; i < 1000; i++) {
      const w = queue.shift({ signal: controller.signal })
      queue.push(i)
      expect(await w).toBe(i)
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    const last = queue.shift({ signal: controller.signal })
    queue.end()
    await expect(last).resolves.toBeUndefined()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

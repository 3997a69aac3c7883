// The outgoing lane's bookkeeping on a stand-in channel (an in-memory sink, not a transport):
// write order, the queue bound, the unacknowledged bounds, and the per-topic drop record.
import type { MessageChannel } from '@peer/transport-quic'
import { SENT } from '@peer/transport-quic/internal'
import { describe, expect, it } from 'vitest'
import { TooManyRequestsError } from '../src/index.js'
import { OutLane, type OutLaneHost } from '../src/out-lane.js'

interface Sink {
  channel: MessageChannel
  written: Uint8Array[]
  fail(error: Error): void
  /** Makes the next sends wait (as a full channel does) until `release()`. */
  hold(): void
  release(): void
}

/** An in-memory channel; like the transport's, `send` answers `SENT` when nothing has to wait. */
function sink(): Sink {
  const written: Uint8Array[] = []
  let failure: Error | undefined
  let held: { promise: Promise<void>; resolve: () => void } | undefined
  const channel = {
    id: 0,
    send: (m: Uint8Array) => {
      if (failure) return Promise.reject(failure)
      written.push(m)
      return held?.promise ?? SENT
    },
    close: () => Promise.resolve(),
  } as unknown as MessageChannel
  return {
    channel,
    written,
    fail: (e) => {
      failure = e
    },
    hold: () => {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      held = { promise, resolve }
    },
    release: () => {
      held?.resolve()
      held = undefined
    },
  }
}

function lane(options: Partial<OutLaneHost> = {}, window?: () => number) {
  const s = sink()
  const host: OutLaneHost = {
    peer: 'p',
    openChannel: async () => s.channel,
    countSent: () => {},
    maxQueued: 100,
    maxUnacked: 1000,
    closedError: () => undefined,
    ...options,
  }
  const out = new OutLane(1, host, () => {}, window)
  return { out, s }
}

const bytes = (n: number) => new Uint8Array(n).fill(n % 256)

describe('OutLane', () => {
  it('opens its channel on first use and writes in call order', async () => {
    const { out, s } = lane()
    await Promise.all([1, 2, 3, 4].map((n) => out.enqueue(bytes(n), 't')))
    expect(s.written.map((b) => b.byteLength)).toEqual([1, 2, 3, 4])
    expect(out.unacked).toBe(4)
  })

  it("hands back the channel's settled promise when it buffered the message without waiting", async () => {
    const { out, s } = lane()
    await out.enqueue(bytes(1), 't') // opens the channel
    // no promise of the lane's own per message, and nothing left queued, within the call
    const sent = [out.enqueue(bytes(2), 't'), out.enqueue(bytes(3)), out.enqueue(bytes(4), 'u')]
    expect(sent.every((p) => p === SENT)).toBe(true)
    expect(out.queued).toBe(0)
    expect(s.written.map((b) => b.byteLength)).toEqual([1, 2, 3, 4])
    expect(out.unacked).toBe(3)
  })

  it('holds the next envelopes back while a send waits for buffer space, then writes them in order', async () => {
    const { out, s } = lane()
    await out.enqueue(bytes(1), 't')
    s.hold()
    const waiting = out.enqueue(bytes(2), 't')
    expect(waiting).not.toBe(SENT)
    s.release()
    const later = [out.enqueue(bytes(3), 't'), out.enqueue(bytes(4))]
    expect(out.queued).toBe(3)
    expect(s.written).toHaveLength(2) // 3 and 4 wait behind 2
    await Promise.all([waiting, ...later])
    expect(out.queued).toBe(0)
    expect(s.written.map((b) => b.byteLength)).toEqual([1, 2, 3, 4])
  })

  it('bounds the queue (maxQueued)', async () => {
    const { out } = lane({ maxQueued: 2 })
    const first = [out.enqueue(bytes(1)), out.enqueue(bytes(2))]
    await expect(out.enqueue(bytes(3))).rejects.toBeInstanceOf(TooManyRequestsError)
    await Promise.all(first)
  })

  it('waits for acks past maxUnacked messages, and refuses an impossible ack', async () => {
    const { out, s } = lane({ maxUnacked: 2 })
    await out.enqueue(bytes(1), 'a')
    await out.enqueue(bytes(2), 'a')
    let third = false
    const p = out.enqueue(bytes(3), 'b').then(() => {
      third = true
    })
    await new Promise((r) => setImmediate(r))
    expect(third).toBe(false)
    expect(out.ack(3)).toBe(false)
    expect(out.ack(1)).toBe(true)
    await p
    expect(s.written).toHaveLength(3)
  })

  it('bounds the bytes in flight, always letting one message go', async () => {
    const { out, s } = lane({}, () => 100)
    await out.enqueue(bytes(150), 'big') // one message always goes
    let second = false
    const p = out.enqueue(bytes(10), 'big').then(() => {
      second = true
    })
    await new Promise((r) => setImmediate(r))
    expect(second).toBe(false)
    out.ack(1)
    await p
    expect(s.written.map((b) => b.byteLength)).toEqual([150, 10])
  })

  it('reports what was never acknowledged, per topic, and not what failed to send', async () => {
    const { out, s } = lane()
    for (const t of ['a', 'a', 'b', 'a', 'c']) await out.enqueue(bytes(1), t)
    out.ack(2) // the two first 'a'
    s.fail(new Error('gone'))
    await expect(out.enqueue(bytes(1), 'd')).rejects.toThrow(/sending failed: gone/)
    expect([...out.close()]).toEqual([
      ['b', 1],
      ['a', 1],
      ['c', 1],
    ])
    expect(out.unacked).toBe(0)
  })
})

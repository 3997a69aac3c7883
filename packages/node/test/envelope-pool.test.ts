// Large envelopes (64 KiB and up) are encoded into recycled buffers, given back once the channel
// has copied them: fresh 1 MB buffers that outlived a scavenge cost a major collection every few
// hundred milliseconds of bulk traffic. A buffer must never be reused while anything still reads
// it: every message of a burst arrives with its own bytes.
import { createHash } from 'node:crypto'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { releaseEnvelope } from '../src/envelope-bytes.js'
import { type Member, startCluster, stopAll } from './helpers.js'

const LARGE = 256 * 1024

describe('the envelope pool', () => {
  it('reuses a released large envelope, once; small and foreign buffers are left alone', () => {
    const first = encodeEnvelope(
      { kind: 'msg', topic: 't', payload: new Uint8Array(LARGE).fill(1) },
      Infinity,
    )
    releaseEnvelope(first)
    const second = encodeEnvelope(
      { kind: 'msg', topic: 't', payload: new Uint8Array(LARGE).fill(2) },
      Infinity,
    )
    expect(second).toBe(first) // the same buffer, rewritten
    // released twice: only one later encoding may get it
    releaseEnvelope(second)
    releaseEnvelope(second)
    const third = encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(LARGE) }, Infinity)
    const fourth = encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(LARGE) }, Infinity)
    expect(third).toBe(first)
    expect(fourth).not.toBe(first)
    // a small envelope, and a large buffer the pool did not hand out, are not taken in
    const small = encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(100) }, Infinity)
    releaseEnvelope(small)
    expect(encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(100) }, Infinity)).not.toBe(
      small,
    )
    const foreign = Buffer.alloc(third.byteLength)
    releaseEnvelope(foreign)
    expect(encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(LARGE) }, Infinity)).not.toBe(
      foreign,
    )
  })

  describe('between two nodes', () => {
    let cluster: Member[] = []
    beforeAll(async () => {
      cluster = await startCluster(['pool-a', 'pool-b'])
    }, 60_000)
    afterAll(async () => {
      await stopAll(cluster)
    })

    it('a burst of large messages and requests, each with its own content, arrives intact', async () => {
      const [a, b] = [cluster[0]!.node, cluster[1]!.node]
      const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
      const got = new Map<number, string>()
      b.handle('pool-bulk', (payload) => {
        const bytes = payload as Uint8Array
        got.set(bytes[0]! | (bytes[1]! << 8), digest(bytes))
      })
      b.handle('pool-echo', (payload) => payload)
      const message = (i: number) => {
        const bytes = new Uint8Array(LARGE + (i % 3)) // a few sizes: exact-size reuse, and not
        for (let at = 0; at < bytes.byteLength; at += 4096) bytes[at] = (i * 31 + at) & 0xff
        bytes[0] = i & 0xff
        bytes[1] = i >> 8
        return bytes
      }
      const count = 40
      // not awaited one by one: envelopes queue behind the lane's window while others are copied
      const sends = Array.from({ length: count }, (_, i) => a.send(b.id, 'pool-bulk', message(i)))
      const echoes = Array.from({ length: 8 }, (_, i) => a.request(b.id, 'pool-echo', message(1000 + i)))
      await Promise.all(sends)
      const answers = (await Promise.all(echoes)) as Uint8Array[]
      for (const [i, answer] of answers.entries()) expect(digest(answer)).toBe(digest(message(1000 + i)))
      await waitFor(() => got.size === count, { timeoutMs: 60_000, what: 'every bulk message' })
      for (let i = 0; i < count; i++) expect(got.get(i), `message ${i}`).toBe(digest(message(i)))
    }, 120_000)
  })
})

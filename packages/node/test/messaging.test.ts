import { getEventListeners } from 'node:events'
import { AbortError } from '@peer/discovery-core'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  HandlerExistsError,
  InvalidTopicError,
  MessageTooLargeError,
  NoHandlerError,
  PeerUnavailableError,
  RemoteError,
  RequestTimeoutError,
  TooManyRequestsError,
} from '../src/index.js'
import { type Member, startCluster, stopAll } from './helpers.js'

// one 3-node cluster (real QUIC on loopback, manual discovery) shared by the messaging tests;
// every test uses its own topics
let cluster: Member[] = []
beforeAll(async () => {
  cluster = await startCluster(['alpha', 'beta', 'gamma'], { maxInFlightRequests: 64 })
}, 30_000)
afterAll(async () => {
  await stopAll(cluster)
})

const a = () => cluster[0]!.node
const b = () => cluster[1]!.node
const c = () => cluster[2]!.node

describe('a 3-node cluster', () => {
  it('every node sees the two others up, with names, direction and address', () => {
    for (const m of cluster) {
      const peers = m.node.peers()
      expect(peers.map((p) => p.id).sort()).toEqual(
        cluster
          .filter((o) => o !== m)
          .map((o) => o.node.id)
          .sort(),
      )
      for (const p of peers) {
        const other = cluster.find((o) => o.node.id === p.id)!.node
        expect(p.name).toBe(other.name)
        expect(p.address.host).toBe('127.0.0.1')
        expect(['inbound', 'outbound']).toContain(p.direction)
      }
    }
  })

  it('send delivers a structured payload to the handler, with the sender in the context', async () => {
    const got: Array<{ payload: unknown; from: string; kind: string }> = []
    const off = b().handle('greet', (payload, ctx) => {
      got.push({ payload, from: ctx.from.name ?? '', kind: ctx.kind })
    })
    await a().send(b().id, 'greet', { hello: 'world', n: [1, 2, 3] })
    await waitFor(() => got.length === 1, { what: 'the message' })
    expect(got[0]).toEqual({ payload: { hello: 'world', n: [1, 2, 3] }, from: a().name, kind: 'message' })
    off()
  })

  it('request returns the handler answer; peers are addressed by id, full name and short name', async () => {
    c().handle('add', ({ x, y }: { x: number; y: number }) => x + y)
    expect(await a().request(c().id, 'add', { x: 1, y: 2 })).toBe(3)
    expect(await a().request(c().name, 'add', { x: 2, y: 2 })).toBe(4)
    expect(await b().request('gamma', 'add', { x: 3, y: 2 })).toBe(5)
  })

  it('bytes payloads travel as bytes, both ways', async () => {
    b().handle('reverse', (bytes: Uint8Array) => Uint8Array.from(bytes).reverse())
    const out = await a().request<Uint8Array>(b().id, 'reverse', new Uint8Array([1, 2, 3, 250]))
    expect(out).toBeInstanceOf(Uint8Array)
    expect([...out]).toEqual([250, 3, 2, 1])
  })

  it('async handlers work, and many concurrent requests are matched to their answers', async () => {
    c().handle('slow-echo', async (n: number) => {
      await new Promise((r) => setTimeout(r, Math.random() * 20))
      return n
    })
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => a().request(c().id, 'slow-echo', i)),
    )
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('1,000 messages per topic on two topics arrive in order', async () => {
    const seen: Record<string, number[]> = { 'order-1': [], 'order-2': [] }
    b().handle('order-1', (n: number) => {
      seen['order-1']!.push(n)
    })
    b().handle('order-2', (n: number) => {
      seen['order-2']!.push(n)
    })
    const sends: Promise<void>[] = []
    for (let i = 0; i < 1000; i++) {
      sends.push(a().send(b().id, 'order-1', i))
      sends.push(a().send(b().id, 'order-2', i))
    }
    await Promise.all(sends)
    await waitFor(() => seen['order-1']!.length === 1000 && seen['order-2']!.length === 1000, {
      timeoutMs: 15_000,
      what: '2,000 messages',
    })
    const expected = Array.from({ length: 1000 }, (_, i) => i)
    expect(seen['order-1']).toEqual(expected)
    expect(seen['order-2']).toEqual(expected)
  })

  it('order also holds under backpressure (300 x 16 KiB, above the channel buffer)', async () => {
    const seen: number[] = []
    b().handle('order-big', (m: { i: number; pad: Uint8Array }) => {
      seen.push(m.i)
    })
    const pad = new Uint8Array(16 * 1024)
    await Promise.all(Array.from({ length: 300 }, (_, i) => a().send(b().id, 'order-big', { i, pad })))
    await waitFor(() => seen.length === 300, { timeoutMs: 15_000, what: '300 large messages' })
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i))
  })

  it('a remote handler error arrives typed, with the remote name, message and code', async () => {
    class OutOfStockError extends Error {
      override name = 'OutOfStockError'
      code = 'E_STOCK'
    }
    c().handle('buy', () => {
      throw new OutOfStockError('no more apples')
    })
    const error = await a()
      .request(c().id, 'buy', 'apple')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toMatchObject({
      name: 'RemoteError',
      remoteName: 'OutOfStockError',
      message: 'no more apples',
      code: 'E_STOCK',
      peer: c().id,
      topic: 'buy',
    })
    // an async rejection too
    c().handle('buy-async', async () => {
      throw new TypeError('bad order')
    })
    await expect(a().request(c().id, 'buy-async', 1)).rejects.toMatchObject({
      name: 'RemoteError',
      remoteName: 'TypeError',
      message: 'bad order',
    })
  })

  it('a handler that throws is counted and is a handler:failed event (a message has no caller to tell); the link stays up', async () => {
    const before = c().stats.handlerErrors
    const failed: Array<{
      peer: string
      name: string | undefined
      topic: string
      kind: string
      error: unknown
    }> = []
    const onFailed = (e: CustomEvent<(typeof failed)[number]>) => failed.push(e.detail)
    c().addEventListener('handler:failed', onFailed)
    try {
      c().handle('explode', () => {
        throw new Error('kaboom')
      })
      c().handle('explode-async', async () => {
        throw new Error('kaboom later')
      })
      c().handle('explode-request', () => {
        throw new RangeError('bad request')
      })
      c().handleStream('explode-stream', () => {
        throw new Error('bad stream')
      })
      await a().send(c().id, 'explode', 1)
      await a().send(c().id, 'explode-async', 1)
      await expect(a().request(c().id, 'explode-request', 1)).rejects.toMatchObject({ name: 'RemoteError' })
      // the handler fails at once: the reset may overtake the acceptance (openStream then fails
      // with reason `reset`), or the stream opens and its reads fail
      const opened = await a()
        .openStream(c().id, 'explode-stream')
        .catch((error: unknown) => error as Error)
      if (opened instanceof Error)
        expect(opened).toMatchObject({ name: 'StreamRefusedError', reason: 'reset' })
      else
        await opened.readable
          .getReader()
          .read()
          .catch(() => undefined)
      await waitFor(() => c().stats.handlerErrors === before + 4, { what: 'four handler errors' })
      const seen = failed.map((f) => [f.topic, f.kind, (f.error as Error).message]).sort()
      expect(seen).toEqual([
        ['explode', 'message', 'kaboom'],
        ['explode-async', 'message', 'kaboom later'],
        ['explode-request', 'request', 'bad request'],
        ['explode-stream', 'stream', 'bad stream'],
      ])
      for (const f of failed) expect(f).toMatchObject({ peer: a().id, name: a().name })
      expect(await a().ping(c().id)).toBeGreaterThan(0)
    } finally {
      c().removeEventListener('handler:failed', onFailed)
    }
  })

  it('an answer that cannot be sent (not encodable, too large) reaches the caller as a RemoteError, and is a handler:failed', async () => {
    const failed: Array<{ topic: string; kind: string; error: unknown }> = []
    const onFailed = (e: CustomEvent<(typeof failed)[number]>) => failed.push(e.detail)
    c().addEventListener('handler:failed', onFailed)
    c().handle('cyclic', () => {
      const o: Record<string, unknown> = {}
      o.self = o
      return o
    })
    c().handle('huge', () => new Uint8Array(2 * 1024 * 1024))
    await expect(a().request(c().id, 'cyclic', null)).rejects.toMatchObject({
      name: 'RemoteError',
      remoteName: 'EncodeError',
    })
    await expect(a().request(c().id, 'huge', null)).rejects.toMatchObject({
      name: 'RemoteError',
      remoteName: 'MessageTooLargeError',
    })
    c().removeEventListener('handler:failed', onFailed)
    expect(failed.map((f) => [f.topic, f.kind, (f.error as Error).name])).toEqual([
      ['cyclic', 'request', 'EncodeError'],
      ['huge', 'request', 'MessageTooLargeError'],
    ])
  })

  it('a request for a topic without handler fails with NoHandlerError', async () => {
    await expect(a().request(b().id, 'nobody-home', 1)).rejects.toBeInstanceOf(NoHandlerError)
  })

  it('a message for a topic without handler is counted as unhandled', async () => {
    const before = b().stats.unhandled
    await a().send(b().id, 'nobody-listens', 1)
    await waitFor(() => b().stats.unhandled === before + 1, { what: 'the unhandled count' })
    expect(b().peer(a().id)?.stats.unhandled).toBeGreaterThan(0)
  })

  it('a request times out with RequestTimeoutError, and a late answer is counted as unexpected', async () => {
    let release!: () => void
    c().handle(
      'stuck',
      () =>
        new Promise<string>((r) => {
          release = () => r('late')
        }),
    )
    const started = Date.now()
    const error = await a()
      .request(c().id, 'stuck', null, { timeout: 200 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestTimeoutError)
    // timeoutMs is the timeout that expired; the deprecated `timeout` getter reads the same value
    expect(error).toMatchObject({ timeoutMs: 200, timeout: 200, peer: c().id, topic: 'stuck' })
    expect(Object.keys(error as object)).not.toContain('timeout')
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    expect(a().peer(c().id)?.stats.timeouts).toBe(1)
    const unexpected = a().stats.unexpected
    release()
    await waitFor(() => a().stats.unexpected === unexpected + 1, { what: 'the late answer' })
    expect(a().peer(c().id)?.stats.inFlight).toBe(0)
  })

  it('a request is aborted by its signal with an AbortError, before or during the wait', async () => {
    c().handle('never', () => new Promise(() => {}))
    const controller = new AbortController()
    const pending = a().request(c().id, 'never', null, { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = await pending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect((error as Error).name).toBe('AbortError')
    await expect(a().request(c().id, 'never', null, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(a().peer(c().id)?.stats.inFlight).toBe(0)
  })

  it('send with an aborted signal rejects with an AbortError and sends nothing', async () => {
    const sent = a().peer(b().id)!.stats.messagesSent
    await expect(a().send(b().id, 'x', 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    expect(a().peer(b().id)!.stats.messagesSent).toBe(sent)
  })

  it('requests in flight per peer are bounded (maxInFlightRequests)', async () => {
    b().handle('hold', () => new Promise(() => {}))
    const controller = new AbortController()
    // 64 requests share one signal: it gets one listener of ours, not 64 (Node.js would warn of a
    // leak past 10; users had to raise the signal's limit)
    const held = Array.from({ length: 64 }, () =>
      a()
        .request(b().id, 'hold', null, { signal: controller.signal })
        .catch(() => {}),
    )
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    await expect(a().request(b().id, 'hold', null)).rejects.toBeInstanceOf(TooManyRequestsError)
    controller.abort()
    await Promise.all(held)
    expect(a().peer(b().id)?.stats.inFlight).toBe(0)
  })

  it('messages above maxMessageSize are refused locally', async () => {
    await expect(a().send(b().id, 'big', new Uint8Array(2 * 1024 * 1024))).rejects.toBeInstanceOf(
      MessageTooLargeError,
    )
  })

  it('unknown peers and names fail with PeerUnavailableError', async () => {
    await expect(a().send('nobody@nowhere', 'x', 1)).rejects.toBeInstanceOf(PeerUnavailableError)
    await expect(a().request('a'.repeat(52), 'x', 1)).rejects.toBeInstanceOf(PeerUnavailableError)
  })

  it('one handler per topic; bad topics are refused', () => {
    const off = a().handle('once', () => 1)
    expect(() => a().handle('once', () => 2)).toThrow(HandlerExistsError)
    off()
    a().handle('once', () => 3)
    expect(a().unhandle('once')).toBe(true)
    expect(() => a().handle('', () => 1)).toThrow(InvalidTopicError)
    expect(() => a().handle('x'.repeat(257), () => 1)).toThrow(InvalidTopicError)
  })

  it('ping measures the RTT, and counters count messages and bytes per peer', async () => {
    const rtt = await a().ping(b().id)
    expect(rtt).toBeGreaterThan(0)
    const info = a().peer(b().id)!
    expect(info.stats.rtt).toBe(rtt)
    expect(info.stats.messagesSent).toBeGreaterThan(1000)
    expect(info.stats.bytesSent).toBeGreaterThan(info.stats.messagesSent)
    const back = b().peer(a().id)!
    expect(back.stats.messagesReceived).toBeGreaterThan(1000)
    expect(a().stats.messagesSent).toBeGreaterThanOrEqual(info.stats.messagesSent)
  })

  it('broadcast reaches every peer', async () => {
    const got: string[] = []
    b().handle('news', (s: string) => {
      got.push(`b:${s}`)
    })
    c().handle('news', (s: string) => {
      got.push(`c:${s}`)
    })
    expect(await a().broadcast('news', 'hi')).toBe(2)
    await waitFor(() => got.length === 2, { what: 'two deliveries' })
    expect(got.sort()).toEqual(['b:hi', 'c:hi'])
    // a payload no peer can get fails the call instead of counting 0 sends
    await expect(a().broadcast('news', { when: new Map() })).rejects.toThrow(/payload\.when is a Map/)
    await expect(a().broadcast('news', new Uint8Array(2 * 1024 * 1024))).rejects.toBeInstanceOf(
      MessageTooLargeError,
    )
    expect(got).toHaveLength(2)
  })
})

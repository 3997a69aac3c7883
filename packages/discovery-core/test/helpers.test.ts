import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { AbortError, isLoopbackHost } from '../src/index.js'
import { BoundedMap, backoffDelay, SerialLock, seededRandom, withTimeout } from '../src/internal.js'

describe('backoffDelay', () => {
  it('grows by factor from initialMs, caps at maxMs, and jitter only shortens', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 500 }))).toEqual([
      100, 200, 400, 500,
    ])
    expect(backoffDelay(Number.NaN, { initialMs: 100 })).toBe(100)
    expect(backoffDelay(-3, { initialMs: 100 })).toBe(100)
    expect(backoffDelay(1e9, { initialMs: 100, maxMs: 700 })).toBe(700)
    const random = seededRandom(7)
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(i % 8, { initialMs: 100, maxMs: 1000, jitter: 0.5, random })
      const base = Math.min(1000, 100 * 2 ** (i % 8))
      expect(d).toBeGreaterThanOrEqual(base / 2)
      expect(d).toBeLessThanOrEqual(base)
    }
  })
})

describe('isLoopbackHost', () => {
  it('knows loopback IP literals in every spelling, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
    for (const host of ['localhost', '10.0.0.1', '128.0.0.1', '::2', '::', '0.0.0.0', '[127.0.0.1]', '']) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
})

describe('BoundedMap', () => {
  it('keeps at most max entries, dropping the least recently written', () => {
    const m = new BoundedMap<string, number>(3)
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i)
    expect([...m]).toEqual([
      ['k997', 997],
      ['k998', 998],
      ['k999', 999],
    ])
    // writing a key again makes it the newest; reading does not
    m.set('k997', 0)
    expect(m.get('k998')).toBe(998)
    m.set('k1000', 1000)
    expect([...m.keys()]).toEqual(['k999', 'k997', 'k1000'])
    expect(m.max).toBe(3)
    expect(m).toBeInstanceOf(Map)
  })

  it('takes any positive bound (rounded down, at least 1; Infinity unbounded), rejects the rest', () => {
    for (const bad of [0, -1, Number.NaN, Number.NEGATIVE_INFINITY])
      expect(() => new BoundedMap(bad)).toThrow(RangeError)
    expect(new BoundedMap(2.5).max).toBe(2)
    expect(new BoundedMap(0.5).max).toBe(1)
    const unbounded = new BoundedMap<number, number>(Number.POSITIVE_INFINITY)
    for (let i = 0; i < 5000; i++) unbounded.set(i, i)
    expect(unbounded.size).toBe(5000)
  })
})

describe('SerialLock', () => {
  it('runs tasks one at a time in call order; a failure does not block the next', async () => {
    const lock = new SerialLock()
    const order: string[] = []
    let running = 0
    const task =
      (name: string, fail = false) =>
      async () => {
        running++
        expect(running).toBe(1)
        await new Promise((r) => setImmediate(r))
        order.push(name)
        running--
        if (fail) throw new Error(name)
        return name
      }
    const results = await Promise.allSettled([
      lock.run(task('a')),
      lock.run(task('b', true)),
      lock.run(task('c')),
    ])
    expect(order).toEqual(['a', 'b', 'c'])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    await lock.idle()
  })

  it('rejects a waiting caller with AbortError when its signal aborts', async () => {
    const lock = new SerialLock()
    let release!: () => void
    void lock.run(
      () =>
        new Promise<void>((r) => {
          release = r
        }),
    )
    const controller = new AbortController()
    const waiting = lock.run(async () => 'late', controller.signal)
    controller.abort()
    await expect(waiting).rejects.toBeInstanceOf(AbortError)
    release()
    await lock.idle()
  })
})

describe('withTimeout', () => {
  it('settles like the promise, or rejects with the timeout error, and leaves no listener', async () => {
    const controller = new AbortController()
    await expect(
      withTimeout(Promise.resolve(1), 1000, () => new Error('late'), controller.signal),
    ).resolves.toBe(1)
    await expect(withTimeout(new Promise(() => {}), 10, () => new Error('late'))).rejects.toThrow('late')
    for (let i = 0; i < 20; i++)
      await withTimeout(Promise.resolve(i), 1000, () => new Error('x'), controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    const aborted = withTimeout(new Promise(() => {}), 60_000, () => new Error('late'), controller.signal)
    controller.abort()
    await expect(aborted).rejects.toBeInstanceOf(AbortError)
  })

  it('takes any time limit: a fraction, 0, or one beyond a timer (AbortSignal.timeout throws on those)', async () => {
    await expect(withTimeout(new Promise(() => {}), 5.5, () => new Error('late'))).rejects.toThrow('late')
    await expect(withTimeout(new Promise(() => {}), 0, () => new Error('at once'))).rejects.toThrow('at once')
    await expect(withTimeout(Promise.resolve('ok'), 2 ** 40, () => new Error('never'))).resolves.toBe('ok')
    await expect(withTimeout(Promise.resolve('ok'), 1500.25, () => new Error('never'))).resolves.toBe('ok')
  })
})

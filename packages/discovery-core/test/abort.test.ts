import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { AbortError, delay, raceSignal } from '../src/index.js'
import { linkSignals, settleWithin, whenAborted } from '../src/internal.js'

describe('delay', () => {
  it('leaves no abort listener on a long-lived signal, however often it is called', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 50; i++) await delay(0, controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('rejects with AbortError when the signal aborts, and at once when it already has', async () => {
    const controller = new AbortController()
    const waiting = delay(60_000, controller.signal)
    controller.abort()
    await expect(waiting).rejects.toBeInstanceOf(AbortError)
    await expect(delay(60_000, controller.signal)).rejects.toBeInstanceOf(AbortError)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  it('a wait longer than a Node.js timer holds still waits (it does not fire after 1 ms)', async () => {
    const warnings = await warningsDuring(async () => {
      const controller = new AbortController()
      let done = false
      const waiting = delay(2 ** 40, controller.signal).then(
        () => {
          done = true
        },
        () => {},
      )
      await new Promise((r) => setTimeout(r, 50))
      expect(done).toBe(false)
      controller.abort()
      await waiting
    })
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([])
  })
})

describe('raceSignal', () => {
  it('removes its abort listener once the promise settles', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 20; i++) await raceSignal(Promise.resolve(i), controller.signal)
    await raceSignal(Promise.reject(new Error('x')), controller.signal).catch(() => {})
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

describe('settleWithin', () => {
  // Other timers (vitest's own) come and go between awaits: compare large deltas, not exact counts.
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
  const N = 50

  it('gives the value when the promise settles first, and releases its timers and listeners', async () => {
    const controller = new AbortController()
    // N waits on one signal at once: one listener of ours (see whenAborted), released with the last
    const before = timers()
    let resolve = (_: number) => {}
    const value = new Promise<number>((r) => {
      resolve = r
    })
    const waits = Array.from({ length: N }, () => settleWithin(value, 60_000, { signal: controller.signal }))
    const peak = timers()
    expect(peak - before).toBe(N)
    resolve(7)
    expect(await Promise.all(waits)).toEqual(Array(N).fill(7))
    expect(timers()).toBeLessThan(peak - N + 5)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    await expect(settleWithin(Promise.reject(new Error('x')), 60_000)).rejects.toThrow('x')
  })

  it('gives undefined after ms, when the signal aborts, and at once when it already has', async () => {
    const never = new Promise<number>(() => {})
    await expect(settleWithin(never, 5)).resolves.toBeUndefined()
    const controller = new AbortController()
    const waiting = settleWithin(never, 60_000, { signal: controller.signal })
    controller.abort()
    await expect(waiting).resolves.toBeUndefined()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    await expect(settleWithin(never, 60_000, { signal: controller.signal })).resolves.toBeUndefined()
  })

  it('keeps the process alive while it waits, unless unref is set', () => {
    const never = new Promise<number>(() => {})
    const before = timers()
    for (let i = 0; i < N; i++) void settleWithin(never, 1)
    expect(timers() - before).toBe(N)
    for (let i = 0; i < N; i++) void settleWithin(never, 1, { unref: true })
    expect(timers() - before).toBe(N)
  })
})

describe('linkSignals', () => {
  it("aborts with a parent's reason, and leaves no listener on the other parents", () => {
    const [a, b] = [new AbortController(), new AbortController()]
    const linked = linkSignals([a.signal, undefined, b.signal], 60_000)
    expect(linked.signal.aborted).toBe(false)
    b.abort('because')
    expect(linked.signal.aborted).toBe(true)
    expect(linked.signal.reason).toBe('because')
    expect(linked.timedOut).toBe(false)
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0)
  })

  it('is aborted at once when a parent already is', () => {
    const a = new AbortController()
    a.abort('early')
    const linked = linkSignals([new AbortController().signal, a.signal], 60_000)
    expect(linked.signal.reason).toBe('early')
  })

  it('aborts with a TimeoutError after ms, and says it timed out', async () => {
    const parent = new AbortController()
    const linked = linkSignals([parent.signal], 5)
    await new Promise<void>((resolve) => linked.signal.addEventListener('abort', () => resolve()))
    expect(linked.timedOut).toBe(true)
    expect((linked.signal.reason as DOMException).name).toBe('TimeoutError')
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
  })

  it('release() leaves nothing behind: no listener on a long-lived parent, no timer that fires', async () => {
    const parent = new AbortController()
    for (let i = 0; i < 100; i++) linkSignals([parent.signal], 1).release()
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
    const linked = linkSignals([parent.signal], 1)
    linked.release()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(linked.signal.aborted).toBe(false)
    expect(linked.timedOut).toBe(false)
  })
})

describe('whenAborted', () => {
  it('many waits on one signal at once: one listener, no leak warning, none left once they end', async () => {
    const lifetime = new AbortController()
    const warnings = await warningsDuring(async () => {
      const N = 40
      const links = Array.from({ length: N }, () => linkSignals([lifetime.signal], 60_000))
      const gates = Array.from({ length: N }, () => {
        let resolve!: (value: number) => void
        const promise = new Promise<number>((r) => {
          resolve = r
        })
        return { promise, resolve }
      })
      const waits = [
        ...gates.map((g) => raceSignal(g.promise, lifetime.signal)),
        ...gates.map((g) => settleWithin(g.promise, 60_000, { signal: lifetime.signal })),
        ...gates.map(() => delay(5, lifetime.signal)),
      ]
      expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1)
      for (const [i, g] of gates.entries()) g.resolve(i)
      await Promise.all(waits)
      for (const l of links) l.release()
    })
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('an abort reaches every wait in order, except one removed by an earlier callback', () => {
    const controller = new AbortController()
    const calls: string[] = []
    whenAborted(controller.signal, () => {
      calls.push('a')
      offC()
    })
    const offB = whenAborted(controller.signal, () => calls.push('b'))
    const offC = whenAborted(controller.signal, () => calls.push('c'))
    whenAborted(controller.signal, () => calls.push('d'))
    const linked = linkSignals([controller.signal])
    offB()
    controller.abort('bye')
    expect(calls).toEqual(['a', 'd'])
    expect(linked.signal.reason).toBe('bye')
    // like a listener, a wait added after the abort is never called
    whenAborted(controller.signal, () => calls.push('late'))()
    expect(calls).toEqual(['a', 'd'])
  })
})

/**
 * The process warnings emitted while `fn` ran and on the tick after (when Node.js emits them). The
 * same as `@peer/testkit/warnings`, which this package cannot depend on (the testkit depends on it).
 */
async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  return warnings
}

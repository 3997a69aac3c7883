import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { AbortError, delay, raceSignal } from '../src/index.js'

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
})

describe('raceSignal', () => {
  it('removes its abort listener once the promise settles', async () => {
    const controller = new AbortController()
    for (let i = 0; i < 20; i++) await raceSignal(Promise.resolve(i), controller.signal)
    await raceSignal(Promise.reject(new Error('x')), controller.signal).catch(() => {})
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

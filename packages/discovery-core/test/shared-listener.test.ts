// whenEvent: many waits on one event target and type share one listener.
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { whenEvent } from '../src/internal.js'

describe('whenEvent', () => {
  it('one listener for many waits, removed with the last one', () => {
    const target = new EventTarget()
    const offs = Array.from({ length: 30 }, () => whenEvent(target, 'ping', () => {}))
    expect(getEventListeners(target, 'ping')).toHaveLength(1)
    for (const off of offs) off()
    expect(getEventListeners(target, 'ping')).toHaveLength(0)
    // and a later wait adds it again
    const off = whenEvent(target, 'ping', () => {})
    expect(getEventListeners(target, 'ping')).toHaveLength(1)
    off()
    off() // twice is harmless
    expect(getEventListeners(target, 'ping')).toHaveLength(0)
  })

  it('calls in order every event; one removed before its turn is skipped, one added during a dispatch waits for the next', () => {
    const target = new EventTarget()
    const calls: string[] = []
    let offC = () => {}
    const offA = whenEvent(target, 'ping', () => {
      calls.push('a')
      offC()
      whenEvent(target, 'ping', () => calls.push('late'))
    })
    whenEvent(target, 'ping', () => calls.push('b'))
    offC = whenEvent(target, 'ping', () => calls.push('c'))
    whenEvent(target, 'pong', () => calls.push('other type'))
    target.dispatchEvent(new Event('ping'))
    expect(calls).toEqual(['a', 'b'])
    offA()
    target.dispatchEvent(new Event('ping'))
    expect(calls).toEqual(['a', 'b', 'b', 'late'])
  })

  it('a target without removeEventListener keeps the one listener, which calls nothing once every wait ended', () => {
    const inner = new EventTarget()
    const target = { addEventListener: inner.addEventListener.bind(inner) }
    const calls: number[] = []
    const off1 = whenEvent(target, 'ping', () => calls.push(1))
    off1()
    inner.dispatchEvent(new Event('ping'))
    expect(calls).toEqual([])
    const off2 = whenEvent(target, 'ping', () => calls.push(2))
    inner.dispatchEvent(new Event('ping'))
    expect(calls).toEqual([2])
    expect(getEventListeners(inner, 'ping')).toHaveLength(1) // reused, not added again
    off2()
  })
})

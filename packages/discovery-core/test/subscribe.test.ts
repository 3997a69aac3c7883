import { describe, expect, it } from 'vitest'
import { encodeBase32, subscribe, TypedEventTarget } from '../src/index.js'

class Emitter extends TypedEventTarget<{ a: CustomEvent<number>; b: CustomEvent<string> }> {
  fire(n: number) {
    this.emit('a', n)
    this.emit('b', String(n))
  }
}

describe('subscribe', () => {
  it('adds typed handlers and removes them all', () => {
    const emitter = new Emitter()
    const seen: Array<number | string> = []
    const off = subscribe(emitter, { a: (e) => seen.push(e.detail), b: (e) => seen.push(e.detail) })
    emitter.fire(1)
    off()
    emitter.fire(2)
    expect(seen).toEqual([1, '1'])
  })

  it('with onError, on a plain EventTarget: throws and async rejections are reported, never escape', async () => {
    const target = new EventTarget()
    const reported: string[] = []
    const escaped: unknown[] = []
    const onEscape = (reason: unknown) => escaped.push(reason)
    process.on('unhandledRejection', onEscape)
    try {
      subscribe(
        target,
        {
          sync: () => {
            throw new Error('sync')
          },
          async: async () => {
            throw new Error('async')
          },
        },
        (error, type) => reported.push(`${type}: ${(error as Error).message}`),
      )
      // an onError that throws loses its report; dispatch goes on
      subscribe(
        target,
        {
          sync: () => {
            throw new Error('again')
          },
          async: () => Promise.reject(new Error('again')),
        },
        () => {
          throw new Error('the hook fails too')
        },
      )
      target.dispatchEvent(new Event('sync'))
      target.dispatchEvent(new Event('async'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(reported).toEqual(['sync: sync', 'async: async'])
      expect(escaped).toEqual([])
    } finally {
      process.off('unhandledRejection', onEscape)
    }
  })
})

describe('encodeBase32', () => {
  it('matches RFC 4648 test vectors (lowercase, no padding)', () => {
    const enc = (s: string) => encodeBase32(new TextEncoder().encode(s))
    expect(enc('')).toBe('')
    expect(enc('f')).toBe('my')
    expect(enc('fo')).toBe('mzxq')
    expect(enc('foo')).toBe('mzxw6')
    expect(enc('foob')).toBe('mzxw6yq')
    expect(enc('fooba')).toBe('mzxw6ytb')
    expect(enc('foobar')).toBe('mzxw6ytboi')
  })
})

describe('TypedEventTarget', () => {
  it('reports an async listener that rejects like one that throws: no unhandled rejection', async () => {
    const target = new TypedEventTarget<{ x: Event }>()
    const seen: Array<[string, string]> = []
    target.onListenerError = (error, type) => seen.push([type, (error as Error).message])
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      target.addEventListener('x', async () => {
        throw new Error('async listener')
      })
      target.addEventListener('x', {
        handleEvent: () => Promise.reject(new Error('async handleEvent')),
      })
      let after = 0
      target.addEventListener('x', () => {
        after++
      })
      target.dispatchEvent(new Event('x'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(after).toBe(1)
      expect(seen).toEqual([
        ['x', 'async listener'],
        ['x', 'async handleEvent'],
      ])
      expect(target.listenerErrors).toBe(2)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

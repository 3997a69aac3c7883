// The one describer of unexpected values in error messages: short, kind first, and free of
// control characters (values from files and the network end up in logs).
import { describe, expect, it } from 'vitest'
import { describeValue, quote } from '../src/internal.js'

describe('describeValue', () => {
  it('names the kind with a hint of the content', () => {
    class Widget {}
    const cases: Array<[unknown, string]> = [
      [undefined, 'undefined'],
      [null, 'null'],
      ['api', '"api"'],
      [5, 'number 5'],
      [Number.NaN, 'number NaN'],
      [10n, 'bigint 10'],
      [true, 'boolean true'],
      [Symbol('s'), 'a symbol s'],
      [[1, 2, 3], 'an array of 3'],
      [{}, 'an empty object'],
      [Object.create(null), 'an empty object'],
      [{ a: 1, b: 2 }, 'an object with keys a, b'],
      [{ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }, 'an object with keys a, b, c, d, e, ...'],
      [new Map(), 'a Map'],
      [new Error('x'), 'an Error'],
      [new Widget(), 'a Widget'],
      [() => {}, 'a function'],
      [function named() {}, 'the function named'],
      [Widget, 'the function Widget'],
    ]
    for (const [value, expected] of cases) expect(describeValue(value)).toBe(expected)
  })

  it('cuts long strings and names, and replaces control characters', () => {
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(60)}..."`)
    expect(describeValue('x'.repeat(100), { maxString: 5 })).toBe('"xxxxx..."')
    expect(describeValue('a\nb\u001b[31m')).toBe('"a\\nb\\u001b[31m"')
    // DEL and C1 (U+009B is CSI on 8-bit terminals), which JSON text leaves raw, are escaped too
    expect(describeValue('a\u007fb\u009b31m\u0085')).toBe('"a\\u007fb\\u009b31m\\u0085"')
    const key = `k\u001b[2J${'y'.repeat(40)}`
    expect(describeValue({ [key]: 1 })).toBe(`an object with keys k?[2J${'y'.repeat(19)}...`)
  })

  it('never throws, whatever the object does', () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap')
        },
      },
    )
    expect(describeValue(hostile)).toBe('an object')
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    expect(describeValue(proxy)).toBe('an object')
    // a huge object is not walked in full
    const big = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]))
    expect(describeValue(big)).toBe('an object with keys k0, k1, k2, k3, k4, ...')
  })

  it('quote: JSON text with every control character escaped, for any value, never throwing', () => {
    expect(quote('api')).toBe('"api"')
    expect(quote('a\tb\u0000\u007f\u0080\u009f\u00a0')).toBe('"a\\tb\\u0000\\u007f\\u0080\\u009f\u00a0"')
    expect(quote(5)).toBe('5')
    expect(quote(['x\u009b'])).toBe('["x\\u009b"]')
    expect(quote({ 'k\u0090': 1 })).toBe('{"k\\u0090":1}')
    // what JSON cannot write reads as describeValue describes it
    expect(quote(10n)).toBe('bigint 10')
    expect(quote(undefined)).toBe('undefined')
    const cycle: { self?: unknown } = {}
    cycle.self = cycle
    expect(quote(cycle)).toBe('an object with keys self')
    const hostile = {
      toJSON() {
        throw new Error('trap')
      },
    }
    expect(quote(hostile)).toBe('an object with keys toJSON')
  })
})

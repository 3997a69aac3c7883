import { describe, expect, it } from 'vitest'
import { orderSrvRecords, seededRandom } from '../src/index.js'
import { hash32 } from '../src/internal.js'

const rec = (name: string, priority: number, weight: number) => ({ name, priority, weight })

describe('orderSrvRecords (RFC 2782)', () => {
  it('sorts by priority, lowest first', () => {
    const out = orderSrvRecords([rec('c', 30, 1), rec('a', 10, 1), rec('b', 20, 1)], seededRandom(1))
    expect(out.map((r) => r.name)).toEqual(['a', 'b', 'c'])
  })

  it('is deterministic for a seed and does not modify its input', () => {
    const input = Array.from({ length: 20 }, (_, i) => rec(`r${i}`, 10, i + 1))
    const copy = [...input]
    const a = orderSrvRecords(input, seededRandom(42)).map((r) => r.name)
    const b = orderSrvRecords(input, seededRandom(42)).map((r) => r.name)
    expect(a).toEqual(b)
    expect(input).toEqual(copy)
    expect(new Set(a).size).toBe(20)
  })

  it('picks first in proportion to weight', () => {
    const random = seededRandom(7)
    const firsts = { heavy: 0, light: 0 }
    for (let i = 0; i < 4000; i++) {
      const [first] = orderSrvRecords([rec('light', 10, 10), rec('heavy', 10, 90)], random)
      firsts[first!.name as 'heavy' | 'light']++
    }
    expect(firsts.heavy / 4000).toBeGreaterThan(0.85)
    expect(firsts.heavy / 4000).toBeLessThan(0.95)
  })

  it('gives weight-0 records a small chance, and orders all-zero weights at random', () => {
    const random = seededRandom(3)
    let zeroFirst = 0
    for (let i = 0; i < 2000; i++) {
      if (orderSrvRecords([rec('w', 10, 100), rec('z', 10, 0)], random)[0]!.name === 'z') zeroFirst++
    }
    expect(zeroFirst).toBeGreaterThan(0)
    expect(zeroFirst).toBeLessThan(100)
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      seen.add(orderSrvRecords([rec('x', 1, 0), rec('y', 1, 0)], random)[0]!.name)
    }
    expect(seen).toEqual(new Set(['x', 'y']))
  })

  it('seededRandom and hash32 are stable', () => {
    expect(seededRandom(1)()).toBe(seededRandom(1)())
    expect(seededRandom(1)()).not.toBe(seededRandom(2)())
    expect(hash32('abc')).toBe(hash32('abc'))
    expect(hash32('abc')).not.toBe(hash32('abd'))
  })
})

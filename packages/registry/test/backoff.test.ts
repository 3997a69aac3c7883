import { describe, expect, it } from 'vitest'
import { backoffDelay, RegistryConfigError } from '../src/index.js'

describe('backoffDelay', () => {
  it('doubles from 500 ms to a 30 s cap without jitter at random() = 0', () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelay(i, { random: () => 0 }))
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000])
  })

  it('jitters the top half of each delay by default', () => {
    expect(backoffDelay(0, { random: () => 0.999999 })).toBe(250)
    expect(backoffDelay(3, { random: () => 0.5 })).toBe(3000)
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(20)
      expect(d).toBeGreaterThanOrEqual(15000)
      expect(d).toBeLessThanOrEqual(30000)
    }
  })

  it('takes its bounds and jitter share from options', () => {
    expect(backoffDelay(2, { initialDelayMs: 10, maxDelayMs: 25, random: () => 0 })).toBe(25)
    expect(backoffDelay(1, { initialDelayMs: 10, jitter: 0, random: () => 0.9 })).toBe(20)
    expect(backoffDelay(1, { initialDelayMs: 10, jitter: 1, random: () => 0.5 })).toBe(10)
  })

  it('still takes the deprecated initialDelay / maxDelay, and rejects both names disagreeing', () => {
    expect(backoffDelay(2, { initialDelay: 10, maxDelay: 25, random: () => 0 })).toBe(25)
    expect(backoffDelay(1, { initialDelay: 10, initialDelayMs: 10, random: () => 0 })).toBe(20)
    expect(() => backoffDelay(1, { initialDelay: 10, initialDelayMs: 20 })).toThrow(RegistryConfigError)
  })

  it('survives absurd attempts and random sources', () => {
    expect(backoffDelay(1e9, { random: () => 0 })).toBe(30000)
    expect(backoffDelay(Number.POSITIVE_INFINITY, { random: () => 0 })).toBe(30000)
    expect(backoffDelay(-3, { random: () => 0 })).toBe(500)
    expect(backoffDelay(Number.NaN, { random: () => 0 })).toBe(500)
    expect(backoffDelay(1, { random: () => Number.NaN })).toBe(1000)
    expect(backoffDelay(1, { random: () => 7 })).toBe(500)
    expect(backoffDelay(1, { jitter: 5, random: () => 0.5 })).toBe(500)
  })
})

import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError, Discovery, PeerError } from '../src/index.js'
import { MAX_TIMER_MS, numberOption, renamedOption, secondsToMs } from '../src/internal.js'
import { TestBackend } from './fixtures.js'

describe('numberOption', () => {
  it('returns the value or the fallback, and throws ConfigError naming the option otherwise', () => {
    expect(numberOption(undefined, 'xMs', 5)).toBe(5)
    expect(numberOption(7, 'xMs', 5, { min: 0 })).toBe(7)
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1, '3', 1.5, null]) {
      let error: unknown
      try {
        numberOption(bad, 'xMs', 5, { min: 0, integer: true })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toBeInstanceOf(PeerError)
      expect((error as ConfigError).option).toBe('xMs')
    }
    expect(() => numberOption(0, 'xMs', 5, { min: 0, exclusiveMin: true })).toThrow(/> 0/)
  })

  it('bounds durations (names ending in Ms) by the longest Node.js timer unless a max is given', () => {
    expect(numberOption(MAX_TIMER_MS, 'xMs', 5, { min: 0 })).toBe(MAX_TIMER_MS)
    expect(() => numberOption(MAX_TIMER_MS + 1, 'xMs', 5, { min: 0 })).toThrow(/<= 2147483647/)
    // not a duration, or an explicit bound
    expect(numberOption(2 ** 40, 'maxPeers', 5)).toBe(2 ** 40)
    expect(numberOption(2 ** 40, 'xMs', 5, { max: 2 ** 41 })).toBe(2 ** 40)
  })

  it('Discovery rejects bad options with ConfigError, never a TypeError', () => {
    expect(() => new Discovery({ backends: [] })).toThrow(ConfigError)
  })
})

describe('renamedOption', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('prefers the new name, converts the old one, warns once, and refuses both with different values', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const rename = { current: 'staleAfterMs', deprecated: 'staleAfter', convert: secondsToMs, owner: 'Test1' }
    expect(renamedOption({ staleAfterMs: 1500 }, rename)).toBe(1500)
    expect(warn).not.toHaveBeenCalled()
    expect(renamedOption({ staleAfter: 2 }, rename)).toBe(2000)
    expect(renamedOption({ staleAfter: 3 }, rename)).toBe(3000)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/staleAfter.*deprecated.*staleAfterMs/)
    expect(renamedOption({ staleAfter: 2, staleAfterMs: 2000 }, rename)).toBe(2000)
    expect(() => renamedOption({ staleAfter: 2, staleAfterMs: 1 }, rename)).toThrow(ConfigError)
    expect(renamedOption(undefined, rename)).toBeUndefined()
  })
})

describe('Discovery duration options', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('takes lostHysteresisMs / lookupTimeoutMs, and the deprecated names with a one-time warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    expect(() => new Discovery({ backends: [fake('a')], lostHysteresisMs: -1 })).toThrow(ConfigError)
    expect(() => new Discovery({ backends: [fake('a')], lookupTimeoutMs: 0 })).toThrow(ConfigError)
    // a longer duration would not fit a Node.js timer
    expect(() => new Discovery({ backends: [fake('a')], lookupTimeoutMs: 2 ** 40 })).toThrow(
      /lookupTimeoutMs/,
    )
    new Discovery({ backends: [fake('a')], lostHysteresisMs: 10, lookupTimeoutMs: 10 })
    expect(warn).not.toHaveBeenCalled()
    new Discovery({ backends: [fake('a')], lostHysteresis: 10, lookupTimeout: 10 })
    new Discovery({ backends: [fake('a')], lostHysteresis: 10, lookupTimeout: 10 })
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/`lostHysteresis` is deprecated; use `lostHysteresisMs`/),
      expect.stringMatching(/`lookupTimeout` is deprecated; use `lookupTimeoutMs`/),
    ])
    expect(() => new Discovery({ backends: [fake('a')], lostHysteresis: -5 })).toThrow(ConfigError)
  })
})

function fake(source: string): TestBackend {
  return new TestBackend(source)
}

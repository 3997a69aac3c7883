import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConfigError, Discovery, PeerError } from '../src/index.js'
import { numberOption, renamedOption, secondsToMs } from '../src/internal.js'

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

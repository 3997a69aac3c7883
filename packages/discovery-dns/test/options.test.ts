// Every numeric option of DnsDiscovery and DnsClient is range-checked by the shared numberOption:
// a DnsConfigError naming the option, the range and what was given (an object read as
// "[object Object]" before).
import { describe, expect, it } from 'vitest'
import { DnsClient, DnsConfigError, DnsDiscovery, type DnsDiscoveryOptions } from '../src/index.js'

const base = { resolvers: ['127.0.0.1:53'], domain: 'example.test' }

describe('numeric options', () => {
  it('are refused with the option, its range and the value given', () => {
    const bad: Array<[string, unknown, string]> = [
      ['jitter', -0.1, 'a number >= 0 and <= 1, got -0.1'],
      ['jitter', 1.5, 'a number >= 0 and <= 1, got 1.5'],
      ['jitter', '0.2', 'a number >= 0 and <= 1, got "0.2"'],
      ['maxRetryDelayMs', 0, 'a number >= 1 and <= 2147483647, got 0'],
      ['concurrency', 1.5, 'an integer >= 1, got 1.5'],
      ['maxCacheEntries', { max: 5 }, 'an integer >= 1, got an object with keys max'],
      ['maxSrvRecords', 0, 'an integer >= 1, got 0'],
      ['timeoutMs', 0, 'a number > 0 and <= 2147483647, got 0'],
      ['attempts', Number.NaN, 'a number > 0, got NaN'],
      ['defaultPort', [53], 'an integer >= 1 and <= 65535, got an array of 1'],
      ['idSource', { txt: true }, "'txt', 'label' or 'txt-or-label', got an object with keys txt"],
      ['families', [5], '4 and/or 6, got an array of 1'],
      ['domain', 42, 'a non-empty DNS name, got number 42'],
      ['resolvers', { a: '127.0.0.1:53' }, 'an array of "host:port" strings, got an object with keys a'],
    ]
    for (const [option, value, text] of bad) {
      let error: unknown
      try {
        new DnsDiscovery({ ...base, [option]: value } as DnsDiscoveryOptions)
      } catch (e) {
        error = e
      }
      expect(error, option).toBeInstanceOf(DnsConfigError)
      expect((error as Error).message.replace(/^`resolvers`/, 'resolvers')).toBe(`${option} must be ${text}`)
      expect((error as DnsConfigError).option).toBe(option)
    }
  })

  it('are checked by DnsClient too', () => {
    expect(() => new DnsClient({ resolvers: ['127.0.0.1:53', 53] as never })).toThrow(
      expect.objectContaining({ option: 'resolvers[1]', message: 'resolvers[1] is not a string: number 53' }),
    )
    expect(() => new DnsClient({ resolvers: ['127.0.0.1:53'], idleCloseMs: -1 })).toThrow(
      expect.objectContaining({
        name: 'DnsConfigError',
        option: 'idleCloseMs',
        message: 'idleCloseMs must be a number > 0 and <= 2147483647, got -1',
      }),
    )
  })
})

import { describe, expect, it } from 'vitest'
import { DnsClient, DnsConfigError, formatResolver, MAX_RESOLVERS, parseResolvers } from '../src/index.js'

describe('parseResolvers', () => {
  it('parses IPv4 and IPv6 with and without ports', () => {
    expect(
      parseResolvers(['127.0.0.1:5353', '10.0.0.10', '[::1]:53', '::1', '[fe80::1]']).map(formatResolver),
    ).toEqual(['127.0.0.1:5353', '10.0.0.10:53', '[::1]:53', '[::1]:53', '[fe80::1]:53'])
    expect(parseResolvers('127.0.0.1:1, 127.0.0.2:2').map(formatResolver)).toEqual([
      '127.0.0.1:1',
      '127.0.0.2:2',
    ])
  })

  it('has no default: missing or empty lists are configuration errors', () => {
    expect(() => parseResolvers(undefined)).toThrow(DnsConfigError)
    expect(() => parseResolvers([])).toThrow(DnsConfigError)
    expect(() => parseResolvers('')).toThrow(DnsConfigError)
    expect(() => new DnsClient({} as never)).toThrow(/no DNS resolvers given/)
  })

  it('refuses host names, bad ports, non-strings and over-long lists', () => {
    for (const bad of [
      'dns.example:53',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1:5x',
      '[::1]:',
      '1.2.3:53',
    ]) {
      expect(() => parseResolvers([bad]), bad).toThrow(DnsConfigError)
    }
    expect(() => parseResolvers([53 as never])).toThrow(DnsConfigError)
    expect(() => parseResolvers({} as never)).toThrow(DnsConfigError)
    expect(() => parseResolvers(Array.from({ length: MAX_RESOLVERS + 1 }, () => '127.0.0.1'))).toThrow(
      DnsConfigError,
    )
  })

  it('refuses unusable client timings', () => {
    expect(() => new DnsClient({ resolvers: ['127.0.0.1'], timeoutMs: 0 })).toThrow(DnsConfigError)
    expect(() => new DnsClient({ resolvers: ['127.0.0.1'], attempts: Number.NaN })).toThrow(DnsConfigError)
  })
})

import { networkInterfaces } from 'node:os'
import { InvalidNodeNameError, isNodeName, isWildcardHost } from '@peer/discovery-core'
import { describe, expect, it } from 'vitest'
import { announcedAddresses, resolveName, shortHostname } from '../src/local-addresses.js'

describe('announced addresses', () => {
  it('a specific bound address is announced as is', () => {
    expect(announcedAddresses({ host: '127.0.0.1', port: 4000 })).toEqual([{ host: '127.0.0.1', port: 4000 }])
    expect(announcedAddresses({ host: '::1', port: 4000 })).toEqual([{ host: '::1', port: 4000 }])
  })

  it('a wildcard address announces the non-internal interface addresses (IPv4 for 0.0.0.0), at most 16', () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address)
    const out = announcedAddresses({ host: '0.0.0.0', port: 4001 })
    expect(out.length).toBeGreaterThan(0)
    expect(out.length).toBeLessThanOrEqual(16)
    for (const a of out) expect(a.port).toBe(4001)
    if (external.length === 0) expect(out).toEqual([{ host: '127.0.0.1', port: 4001 }])
    else expect(out.map((a) => a.host)).toEqual(external.slice(0, 16))
    for (const a of announcedAddresses({ host: '::', port: 4002 }))
      expect(a.host.startsWith('fe80')).toBe(false)
  })

  it('knows the wildcard address in every spelling, and nothing else', () => {
    for (const host of ['0.0.0.0', '::', '[::]', '0::0', '0:0:0:0:0:0:0:0', '[0:0:0:0:0:0:0:0]'])
      expect(isWildcardHost(host), host).toBe(true)
    for (const host of ['127.0.0.1', '::1', '[::1]', '0.0.0.1', '::ffff:0.0.0.0', 'localhost', '0', '00', ''])
      expect(isWildcardHost(host), host).toBe(false)
    // any spelling of the IPv6 wildcard expands to the interface addresses too
    expect(announcedAddresses({ host: '0::0', port: 4003 }).every((a) => !isWildcardHost(a.host))).toBe(true)
  })
})

describe('node names', () => {
  it('defaults to port@ip', () => {
    expect(resolveName(undefined, { host: '10.0.0.7', port: 4000 })).toBe('4000@10.0.0.7')
    expect(resolveName(undefined, { host: '::1', port: 4000 })).toBe('4000@[::1]')
  })
  it('a default name is always a node name: localhost as 127.0.0.1, a DNS name as node<port>@host', () => {
    // `port@` takes an IP only: `4000@localhost` was no node name (its discovery records were refused)
    expect(resolveName(undefined, { host: 'localhost', port: 4000 })).toBe('4000@127.0.0.1')
    expect(resolveName(undefined, { host: 'peer-1.svc.cluster.local', port: 4000 })).toBe(
      'node4000@peer-1.svc.cluster.local',
    )
    for (const host of ['10.0.0.7', '::1', 'localhost', 'LOCALHOST', 'box', 'peer-1.svc.cluster.local']) {
      expect(isNodeName(resolveName(undefined, { host, port: 4000 }))).toBe(true)
    }
  })
  it('keeps name@host and completes a bare name with the short host name', () => {
    expect(resolveName('api@box.example.com', { host: '127.0.0.1', port: 1 })).toBe('api@box.example.com')
    expect(resolveName('api', { host: '127.0.0.1', port: 1 })).toBe(`api@${shortHostname()}`)
  })
  it('refuses a bad name with InvalidNodeNameError', () => {
    expect(() => resolveName('a b@host', { host: '127.0.0.1', port: 1 })).toThrow(InvalidNodeNameError)
    expect(() => resolveName('api@', { host: '127.0.0.1', port: 1 })).toThrow(InvalidNodeNameError)
  })
})

// Pure parts, in the test process (no sockets): TXT encoding and decoding, names, interface
// selection and on-link checks, the bounded cache and its refresh schedule, option validation.
import type { NetworkInterfaceInfo } from 'node:os'
import { ConfigError } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { describe, expect, it, vi } from 'vitest'
import {
  decodeTxt,
  encodeTxt,
  escapeLabel,
  hostLabelFor,
  InvalidAnnouncementError,
  inSubnet,
  instanceLabelFor,
  isOnLink,
  MdnsConfigError,
  MdnsDiscovery,
  type MdnsDiscoveryOptions,
  renamedInstanceLabel,
  selectInterfaces,
  txtSize,
  unescapeLabel,
} from '../src/index.js'
import { cachedRecord, dueForRefresh, ServiceCache } from '../src/service-cache.js'

const id = testId('unit')
const info = (address: string, cidr: string, internal = false): NetworkInterfaceInfo =>
  ({
    address,
    cidr,
    internal,
    family: address.includes(':') ? 'IPv6' : 'IPv4',
    netmask: '',
    mac: '00:00:00:00:00:00',
    ...(address.includes(':') ? { scopeid: 0 } : {}),
  }) as NetworkInterfaceInfo

describe('TXT records', () => {
  it('encodes id, name, pv and meta', () => {
    const txt = encodeTxt({ id, name: 'a@b', addresses: [], meta: { role: 'web' } })
    expect(txt.map(String)).toEqual([`id=${id}`, 'name=a@b', 'pv=1', 'role=web'])
    expect(txtSize(txt)).toBe(txt.reduce((n, b) => n + b.length + 1, 0))
  })

  it('rejects reserved keys, strings over 255 bytes and records over the size limit', () => {
    expect(() => encodeTxt({ id, addresses: [], meta: { id: 'x' } })).toThrow(InvalidAnnouncementError)
    expect(() => encodeTxt({ id, addresses: [], meta: { k: 'x'.repeat(260) } })).toThrow(/255 bytes/)
    const meta = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'.repeat(200)]))
    expect(() => encodeTxt({ id, addresses: [], meta })).toThrow(/1300-byte limit/)
    expect(() =>
      encodeTxt({ id, addresses: [], meta: { a: '1', b: '2' } }, { maxBytes: 1300, maxEntries: 3 }),
    ).toThrow(/more than 3/)
  })

  it('decodes untrusted strings: first key wins, keys lowercased, bad strings reported', () => {
    const { entries, problems } = decodeTxt([
      Buffer.from('ID=x'),
      Buffer.from('id=y'),
      Buffer.from('flag'),
      Buffer.from([0xff]),
      Buffer.from('bad key=1'),
      Buffer.alloc(0),
    ])
    expect([...entries]).toEqual([
      ['id', 'x'],
      ['flag', ''],
    ])
    expect(problems).toHaveLength(2)
  })

  it('drops TXT data over the size limit whole, and stops at maxEntries', () => {
    const huge = Array.from({ length: 50 }, () => Buffer.alloc(250, 0x61))
    expect(decodeTxt(huge).problems[0]).toMatch(/too large/)
    const many = Array.from({ length: 10 }, (_, i) => Buffer.from(`k${i}=v`))
    const out = decodeTxt(many, { maxBytes: 1300, maxEntries: 3 })
    expect(out.entries.size).toBe(3)
    expect(out.problems).toEqual(['more than 3 TXT strings'])
  })
})

describe('names', () => {
  it('derives, truncates, escapes and renames labels', () => {
    expect(instanceLabelFor(id, '4000@10.0.0.1')).toBe('4000@10.0.0.1')
    expect(instanceLabelFor(id, undefined)).toBe(`peer-${id.slice(0, 12)}`)
    expect(Buffer.byteLength(instanceLabelFor(id, `${'é'.repeat(40)}@h`))).toBeLessThanOrEqual(63)
    expect(hostLabelFor(id)).toBe(`peer-${id.slice(0, 16)}`)
    expect(hostLabelFor(id, 3)).toBe(`peer-${id.slice(0, 16)}-3`)
    expect(renamedInstanceLabel('web@h', 1)).toBe('web@h')
    expect(renamedInstanceLabel('web@h', 2)).toBe('web@h (2)')
    expect(Buffer.byteLength(renamedInstanceLabel('x'.repeat(63), 12))).toBe(63)
    expect(escapeLabel('a.b\\c')).toBe('a\\.b\\\\c')
    expect(unescapeLabel(escapeLabel('a.b\\c'))).toBe('a.b\\c')
  })
})

describe('interfaces', () => {
  const system = {
    lo: [info('127.0.0.1', '127.0.0.1/8', true), info('::1', '::1/128', true)],
    eth0: [info('10.0.0.5', '10.0.0.5/24'), info('fe80::1', 'fe80::1/64')],
    eth1: [info('192.168.1.5', '192.168.1.5/24')],
    docker0: [],
  }

  it('says once at warn when its filter leaves no interface to use (and opens nothing)', async () => {
    const { factory, records } = recordingLogger()
    const mdns = new MdnsDiscovery({
      interfaceSource: () => system,
      interfaces: { allow: ['wlan0'] },
      logger: factory,
    })
    await mdns.start()
    try {
      const said = records.filter(
        (r) => r.level === 'warn' && r.message.startsWith('no network interface to use'),
      )
      expect(said).toHaveLength(1)
      expect(said[0]!.fields).toMatchObject({
        allow: ['wlan0'],
        interfaces: ['lo', 'eth0', 'eth1', 'docker0'],
      })
      expect(mdns.interfaceNames).toEqual([])
    } finally {
      await mdns.stop()
    }
  })

  it('never uses loopback when another interface exists', () => {
    expect(selectInterfaces({}, () => system).map((i) => i.name)).toEqual(['eth0', 'eth1'])
    expect(selectInterfaces({}, () => ({ lo: system.lo })).map((i) => i.name)).toEqual(['lo'])
  })

  it('applies allow and deny lists (names or patterns) and families', () => {
    expect(selectInterfaces({ allow: ['eth1'] }, () => system).map((i) => i.name)).toEqual(['eth1'])
    expect(selectInterfaces({ deny: [/^eth/] }, () => system).map((i) => i.name)).toEqual(['lo'])
    const v6 = selectInterfaces({ ipv4: false }, () => system)
    expect(v6.map((i) => i.name)).toEqual(['eth0'])
    expect(v6[0]!.ipv6[0]).toMatchObject({ address: 'fe80::1', linkLocal: true, prefixLength: 64 })
  })

  it('decides which link a source address is on', () => {
    const [eth0, eth1] = selectInterfaces({}, () => system)
    expect(isOnLink('10.0.0.9', eth0!)).toBe(true)
    expect(isOnLink('10.0.1.9', eth0!)).toBe(false)
    expect(isOnLink('192.168.1.1', eth1!)).toBe(true)
    expect(isOnLink('fe80::9%eth0', eth0!)).toBe(true)
    expect(isOnLink('fe80::9%eth1', eth0!)).toBe(false)
    const [lo] = selectInterfaces({}, () => ({ lo: system.lo }))
    expect(isOnLink('127.0.0.1', lo!)).toBe(true)
    expect(isOnLink('0.0.0.0', lo!)).toBe(true)
    expect(inSubnet('fd00::1:2', { address: 'fd00::1', family: 6, prefixLength: 64, linkLocal: false })).toBe(
      true,
    )
    expect(inSubnet('fd01::1', { address: 'fd00::1', family: 6, prefixLength: 64, linkLocal: false })).toBe(
      false,
    )
    expect(inSubnet('not-an-ip', { address: 'fd00::1', family: 6, prefixLength: 64, linkLocal: false })).toBe(
      false,
    )
  })
})

describe('ServiceCache', () => {
  it('bounds instances, hosts and addresses per host', () => {
    const cache = new ServiceCache({ maxInstances: 2, maxHosts: 1, maxAddressesPerHost: 2 })
    expect(cache.instance('a._peer._udp.local', 0)).toBeDefined()
    expect(cache.instance('B._peer._udp.local', 0)).toBeDefined()
    expect(cache.instance('b._peer._udp.local', 0)).toBe(cache.instance('B._peer._udp.local', 0))
    // the pending budget is full: the oldest pending entry makes room
    expect(cache.instance('c._peer._udp.local', 0)).toBeDefined()
    expect(cache.instances.has('a._peer._udp.local')).toBe(false)
    expect(cache.evictions).toBe(1)
    const host = cache.host('h.local')!
    // no resolved instance uses h.local: it makes room for another host
    expect(cache.host('other.local')).toBeDefined()
    expect(cache.hosts.has('h.local')).toBe(false)
    const rec = cachedRecord(120, 0, 'eth0')
    expect(cache.addAddress(host, '10.0.0.1', 4, rec)).toBe('added')
    expect(cache.addAddress(host, '10.0.0.1', 4, rec)).toBe('refreshed')
    expect(cache.addAddress(host, '10.0.0.2', 4, rec)).toBe('added')
    expect(cache.addAddress(host, '10.0.0.3', 4, rec)).toBe('full')
    cache.pruneHosts()
    expect(cache.hosts.size).toBe(0)
  })

  it('keeps a goodbye for one second and schedules refreshes at 80-95% of the TTL', () => {
    expect(cachedRecord(0, 1000, 'eth0')).toMatchObject({ goodbye: true, expires: 2000 })
    const rec = { ...cachedRecord(100, 0, 'eth0'), jitter: 0 }
    expect(dueForRefresh(rec, 79_000)).toBe(false)
    expect(dueForRefresh(rec, 80_000)).toBe(true)
    expect(dueForRefresh(rec, 81_000)).toBe(false)
    expect(dueForRefresh(rec, 96_000)).toBe(true)
    expect(rec.refreshStage).toBe(4)
    expect(dueForRefresh(rec, 99_000)).toBe(false)
    // SRV/TXT/addresses: refreshed as a side effect of the PTR query, asked for from 85% on
    const srv = { ...cachedRecord(100, 0, 'eth0', 'eth0/4'), jitter: 0 }
    expect(srv.via).toBe('eth0/4')
    expect(dueForRefresh(srv, 82_000, 1)).toBe(false)
    expect(dueForRefresh(srv, 85_000, 1)).toBe(true)
  })
})

describe('MdnsDiscovery options and announce validation (no sockets)', () => {
  it('rejects bad options', () => {
    expect(() => new MdnsDiscovery({ serviceType: 'peer' })).toThrow(MdnsConfigError)
    expect(() => new MdnsDiscovery({ ttl: 0 })).toThrow(MdnsConfigError)
    expect(() => new MdnsDiscovery({ ttl: 0 })).toThrow(ConfigError)
    expect(new MdnsDiscovery({ serviceType: '_app._tcp' }).serviceType).toBe('_app._tcp')
  })

  it('rejects a port, announcement count or cache bound outside its range, naming option, value and range', () => {
    const bad: [keyof MdnsDiscoveryOptions, unknown, string][] = [
      ['port', 0, 'an integer >= 1 and <= 65535'],
      ['port', 65536, 'an integer >= 1 and <= 65535'],
      ['port', 53.5, 'an integer >= 1 and <= 65535'],
      ['announcements', 0, 'an integer >= 1 and <= 8'],
      ['announcements', 9, 'an integer >= 1 and <= 8'],
      ['announcements', 1.5, 'an integer >= 1 and <= 8'],
      ['maxInstances', 0, 'an integer >= 1'],
      ['maxInstances', Number.NaN, 'an integer >= 1'],
      ['maxPendingInstances', -1, 'an integer >= 1'],
      ['maxPendingInstances', '8', 'an integer >= 1'],
      ['maxHosts', 0, 'an integer >= 1'],
      ['maxHosts', Number.POSITIVE_INFINITY, 'an integer >= 1'],
    ]
    for (const [option, value, range] of bad) {
      let error: unknown
      try {
        new MdnsDiscovery({ [option]: value } as MdnsDiscoveryOptions)
      } catch (e) {
        error = e
      }
      const shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
      expect(error, `${option}: ${shown}`).toBeInstanceOf(MdnsConfigError)
      expect((error as MdnsConfigError).message).toBe(`${option} must be ${range}, got ${shown}`)
      expect((error as MdnsConfigError).option).toBe(option)
    }
  })

  it('accepts the defaults and the bounds of each range', () => {
    expect(() => new MdnsDiscovery()).not.toThrow()
    expect(() => new MdnsDiscovery({ port: 1, announcements: 1, maxInstances: 1, maxHosts: 1 })).not.toThrow()
    expect(() => new MdnsDiscovery({ port: 65535, announcements: 8, maxPendingInstances: 1 })).not.toThrow()
  })

  it('rejects an announcement it cannot publish, before start', async () => {
    const mdns = new MdnsDiscovery()
    await expect(mdns.announce({ id, addresses: [] })).rejects.toThrow(InvalidAnnouncementError)
    await expect(
      mdns.announce({ id, addresses: [{ host: '0.0.0.0', port: 1 }], meta: { pv: '9' } }),
    ).rejects.toThrow(/reserved/)
    await mdns.announce({ id, name: 'ok@host', addresses: [{ host: '0.0.0.0', port: 1 }] })
    expect(mdns.instanceName).toBe('ok@host')
    expect(mdns.started).toBe(false)
    await mdns.withdraw()
    expect(mdns.instanceName).toBeUndefined()
  })
})

describe('deprecated option names', () => {
  it('maxQueryInterval, interfacePollInterval, resolveTimeout still work with one warning each', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const old = { maxQueryInterval: 60_000, interfacePollInterval: 500, resolveTimeout: 1000 }
      new MdnsDiscovery(old)
      new MdnsDiscovery(old)
      expect(warn).toHaveBeenCalledTimes(3)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /`maxQueryInterval` is deprecated; use `maxQueryIntervalMs`/,
      )
      expect(() => new MdnsDiscovery({ resolveTimeout: 0 })).toThrow(/resolveTimeoutMs must be/)
      expect(() => new MdnsDiscovery({ resolveTimeoutMs: -5 })).toThrow(MdnsConfigError)
    } finally {
      warn.mockRestore()
    }
  })
})

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testId } from '@peer/testkit/ids'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MAX_LIST_BYTES, parseHostPort, StaticConfigError, StaticDiscovery } from '../src/index.js'

const a = { id: testId('a'), name: 'a@box', addresses: ['127.0.0.1:4001'] }
const b = { id: testId('b'), addresses: [{ host: '::1', port: 4002 }] }
const c = { id: testId('c'), addresses: ['[::1]:4003'] }

let dir: string
let file: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'peer-static-test-'))
  file = join(dir, 'peers.json')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const write = (value: unknown) =>
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))

describe('StaticDiscovery', () => {
  it('reports peers from code, the environment and the file, filtering itself', async () => {
    write([b])
    await using d = new StaticDiscovery({
      peers: [a],
      file,
      env: 'PEERS',
      environment: { PEERS: JSON.stringify({ version: 1, peers: [c] }) },
      self: c.id,
    })
    const rec = recordEvents(d, ['peer:discovered'])
    await d.start()
    expect(rec.events.map((e) => (e.detail as { record: { id: string } }).record.id).sort()).toEqual(
      [a.id, b.id].sort(),
    )
    expect((await d.lookup('a@box'))?.addresses).toEqual([{ host: '127.0.0.1', port: 4001 }])
    expect((await d.lookup(b.id))?.source).toBe('static')
    expect(await d.lookup(c.id)).toBeUndefined()
  })

  it('turns file edits into discovered / updated / lost diffs, including atomic renames', async () => {
    write([a, b])
    await using d = new StaticDiscovery({ file, debounceMs: 10 })
    await d.start()
    const rec = recordEvents(d, ['peer:discovered', 'peer:updated', 'peer:lost'])
    write([{ ...a, addresses: ['127.0.0.1:5001'] }, c])
    await waitFor(() => rec.events.length >= 3, { what: 'three events' })
    expect(rec.of('peer:updated').map((e) => (e.detail as { record: { id: string } }).record.id)).toEqual([
      a.id,
    ])
    expect(rec.of('peer:lost').map((e) => (e.detail as { record: { id: string } }).record.id)).toEqual([b.id])
    expect(rec.of('peer:discovered').map((e) => (e.detail as { record: { id: string } }).record.id)).toEqual([
      c.id,
    ])
    const tmp = join(dir, 'peers.json.tmp')
    writeFileSync(tmp, JSON.stringify([a]))
    renameSync(tmp, file)
    await waitFor(async () => (await d.list()).length === 1, { what: 'rename to apply' })
  })

  it('keeps the last good list when an edit is invalid, and reports the error', async () => {
    write([a])
    await using d = new StaticDiscovery({ file, debounceMs: 10 })
    await d.start()
    const rec = recordEvents(d, ['peer:lost', 'discovery:error'])
    write('{ not json')
    await waitFor(() => rec.of('discovery:error').length > 0, { what: 'discovery:error' })
    write([{ id: 'bad', addresses: [] }])
    await waitFor(() => rec.of('discovery:error').length > 1, { what: 'second discovery:error' })
    expect(rec.of('peer:lost')).toHaveLength(0)
    expect((await d.list()).map((r) => r.id)).toEqual([a.id])
    expect(d.stats.invalidRecords).toBe(2)
    const error = (rec.of('discovery:error')[1]!.detail as { error: Error }).error
    expect(error).toBeInstanceOf(StaticConfigError)
    expect(error.message).toMatch(/peers\[0\]\.id/)
    write([a, b])
    await waitFor(async () => (await d.list()).length === 2, { what: 'recovery' })
  })

  it('supports run-time add/remove and manual announcePeer/losePeer', async () => {
    await using d = new StaticDiscovery()
    await d.start()
    const rec = recordEvents(d, ['peer:discovered', 'peer:lost'])
    d.add(a)
    d.announcePeer(b)
    expect(rec.of('peer:discovered')).toHaveLength(2)
    expect(d.remove(a.id)).toBe(true)
    expect(d.losePeer(b.id)).toBe(true)
    expect(d.losePeer(b.id)).toBe(false)
    expect(rec.of('peer:lost')).toHaveLength(2)
    expect(() => d.add({ id: 'nope', addresses: [] })).toThrow(StaticConfigError)
  })

  it('bounds run-time peers', async () => {
    const d = new StaticDiscovery({ maxPeers: 2 })
    d.add(a)
    d.add(b)
    expect(() => d.add(c)).toThrow(/more than 2/)
    d.add({ ...a, name: 'renamed@box' }) // replacing an existing id is fine
  })

  it('rejects start with a clear error for a missing, invalid or oversized file', async () => {
    await expect(new StaticDiscovery({ file: join(dir, 'missing.json') }).start()).rejects.toThrow(
      /cannot be read/,
    )
    write('[')
    await expect(new StaticDiscovery({ file }).start()).rejects.toThrow(/not valid JSON/)
    write({ version: 2, peers: [] })
    await expect(new StaticDiscovery({ file }).start()).rejects.toThrow(/unsupported version 2/)
    write({ peers: 'x' })
    await expect(new StaticDiscovery({ file }).start()).rejects.toThrow(/expected an array/)
    write(' '.repeat(MAX_LIST_BYTES + 1))
    await expect(new StaticDiscovery({ file }).start()).rejects.toThrow(/larger than/)
    write([a, a])
    await expect(new StaticDiscovery({ file }).start()).rejects.toThrow(/duplicate id/)
  })

  it.each([
    ['not JSON', 'a,b', /environment variable PEERS: not valid JSON/],
    [
      'a bad address string',
      JSON.stringify([{ ...a, addresses: ['nohostport'] }]),
      /addresses\[0\].*not host:port/,
    ],
    ['a bad port', JSON.stringify([{ ...a, addresses: ['h:70000'] }]), /addresses\[0\]\.port/],
    ['a control character in meta', JSON.stringify([{ ...a, meta: { k: 'v\u0001' } }]), /meta\.k/],
    [
      'the unspecified address (after a duplicate)',
      JSON.stringify([{ ...a, addresses: ['127.0.0.1:1', '127.0.0.1:1', '0.0.0.0:4000'] }]),
      /PEERS: peers\[0\]\.addresses\[2\]\.host: 0\.0\.0\.0 is the unspecified address: .* the dialer's own host/,
    ],
    [
      'the IPv6 unspecified address',
      JSON.stringify([b, { ...c, addresses: ['[::]:4000'] }]),
      /peers\[1\]\.addresses\[0\]\.host: :: is/,
    ],
    [
      'a multicast address',
      JSON.stringify([{ ...a, addresses: ['224.0.0.251:5353'] }]),
      /addresses\[0\]\.host: 224\.0\.0\.251 is a multicast/,
    ],
  ])('rejects an environment value with %s', async (_what, value, message) => {
    const d = new StaticDiscovery({ env: 'PEERS', environment: { PEERS: value } })
    await expect(d.start()).rejects.toThrow(message)
    expect(d.started).toBe(false)
  })

  it('treats an unset or empty environment variable as no peers', async () => {
    await using d = new StaticDiscovery({ env: 'PEERS', environment: { PEERS: '  ' } })
    await d.start()
    expect(await d.list()).toEqual([])
  })

  it('throws on invalid peers given in code', () => {
    expect(() => new StaticDiscovery({ peers: [{ id: testId('x'), addresses: ['1.2.3.4:0'] }] })).toThrow(
      /options.peers: peers\[0\]\.addresses\[0\]\.port/,
    )
  })

  it('parses host:port strings', () => {
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 })
    expect(parseHostPort('example.test:80')).toEqual({ host: 'example.test', port: 80 })
    expect(parseHostPort('::1:80')).toBeUndefined()
    expect(parseHostPort('host')).toBeUndefined()
  })
})

describe('deprecated option names', () => {
  it('debounce still works with a one-time warning; a bad debounceMs is a StaticConfigError', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      new StaticDiscovery({ debounce: 5 })
      new StaticDiscovery({ debounce: 5 })
      expect(warn).toHaveBeenCalledTimes(1)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/`debounce` is deprecated; use `debounceMs`/)
      expect(() => new StaticDiscovery({ debounceMs: -1 })).toThrow(StaticConfigError)
    } finally {
      warn.mockRestore()
    }
  })
})

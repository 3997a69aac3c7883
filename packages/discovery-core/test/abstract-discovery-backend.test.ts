import { testId } from '@peer/testkit/ids'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { throwingLogger } from '@peer/testkit/throwing-logger'
import { recordEvents } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { Discovery } from '../src/index.js'
import { TestBackend } from './fixtures.js'

const peer = (label: string, port = 4000) => ({ id: testId(label), addresses: [{ host: '127.0.0.1', port }] })

describe('AbstractDiscoveryBackend', () => {
  it('emits discovered once, updated on change, lost once; ignores repeats', async () => {
    const b = new TestBackend()
    await b.start()
    const rec = recordEvents(b, ['peer:discovered', 'peer:updated', 'peer:lost'])
    b.found(peer('a'))
    b.found(peer('a'))
    b.found(peer('a', 4001))
    b.lost(testId('a'))
    b.lost(testId('a'))
    expect(rec.events.map((e) => e.type)).toEqual(['peer:discovered', 'peer:updated', 'peer:lost'])
    expect((rec.events[0]!.detail as { source: string }).source).toBe('test')
    await b.stop()
  })

  it('sets the source itself, validates input and counts drops', async () => {
    const b = new TestBackend()
    await b.start()
    expect(b.found({ ...peer('a'), source: 'spoofed' })?.source).toBe('test')
    expect(b.found({ id: 'bad' })).toBeUndefined()
    expect(b.found('garbage')).toBeUndefined()
    expect(b.found(null)).toBeUndefined()
    expect(b.stats.invalidRecords).toBe(3)
    await b.stop()
  })

  it('logs through the logger of the Discovery it runs in when made without one; a given logger stays', async () => {
    const lent = recordingLogger()
    const own = recordingLogger()
    const bare = new TestBackend('bare')
    const mine = new TestBackend('mine', { logger: own.factory })
    const discovery = new Discovery({ backends: [bare, mine], logger: lent.factory })
    // a second lender is ignored: the first one wins
    const other = recordingLogger()
    new Discovery({ backends: [bare], logger: other.factory })
    await discovery.start()
    bare.counted('a TXT without id=')
    mine.counted('another program')
    const warned = (records: typeof lent.records) =>
      records.filter((r) => r.level === 'warn').map((r) => [r.namespace, r.fields?.reason])
    expect(warned(lent.records)).toEqual([['peer:discovery:bare', 'a TXT without id=']])
    expect(warned(own.records)).toEqual([['peer:discovery:mine', 'another program']])
    expect(other.records).toEqual([])
    await discovery.stop()
  })

  it('warns once per start when it drops a record before it has accepted any (a medium of bad records finds nobody)', async () => {
    const { factory, records } = recordingLogger()
    const warnings = () => records.filter((r) => r.level === 'warn').map((r) => [r.message, r.fields?.reason])
    const b = new TestBackend('test', { logger: factory })
    await b.start()
    b.found({ id: 'bad' })
    b.counted('a TXT without id=')
    b.found(peer('a'))
    b.found({ id: 'bad again' })
    expect(warnings()).toEqual([
      [
        'dropped an invalid record, and no valid one has been seen since start',
        expect.stringMatching(/^invalid peer record: id: /),
      ],
    ])
    expect(b.stats.invalidRecords).toBe(3)
    // a new start: the same again, once; the input of another path (countInvalid) counts too
    await b.stop()
    await b.start()
    b.counted('unsupported protocol version 2')
    b.found({ id: 'bad' })
    expect(warnings().slice(1)).toEqual([
      [
        'dropped an invalid record, and no valid one has been seen since start',
        'unsupported protocol version 2',
      ],
    ])
    await b.stop()
    // a start whose first record is valid never warns, and neither does this node's own record
    const c = new TestBackend('test', { logger: factory, self: testId('self') })
    await c.start()
    c.found(peer('self'))
    c.found(peer('b'))
    c.found({ id: 'bad' })
    expect(warnings()).toHaveLength(2)
    await c.stop()
  })

  it('cleans meta.services lists and counts the drops, each distinct list of a peer once', async () => {
    const b = new TestBackend()
    await b.start()
    const withServices = (label: string, services: unknown, extra = {}) => ({
      ...peer(label),
      meta: { services, ...extra },
    })
    const a = b.found(withServices('a', 'kv,BAD,,ok.v1', { zone: 'eu' }))
    expect(a?.meta).toEqual({ services: 'kv,ok.v1', zone: 'eu' })
    expect(b.stats).toMatchObject({ droppedServiceNames: 2, droppedServiceLists: 0, invalidRecords: 0 })
    // the same list again (a poll, a re-announcement): not counted again
    b.found(withServices('a', 'kv,BAD,,ok.v1', { zone: 'eu' }))
    expect(b.stats.droppedServiceNames).toBe(2)
    // a list over the limits goes whole; the key goes when nothing is left
    const tooMany = Array.from({ length: 40 }, (_, i) => `s${i}`).join(',')
    expect(b.found(withServices('c', tooMany))?.meta).toBeUndefined()
    expect(b.found(withServices('d', 'A,B'))?.meta).toBeUndefined()
    expect(b.found(withServices('e', 42))?.meta).toBeUndefined()
    expect(b.stats).toMatchObject({ droppedServiceNames: 4, droppedServiceLists: 2, invalidRecords: 0 })
    // a clean list counts nothing; a peer lost and found again with the bad list is counted again
    b.found(withServices('a', 'kv'))
    b.found(withServices('a', 'kv,BAD,,ok.v1'))
    expect(b.stats.droppedServiceNames).toBe(6)
    b.lost(testId('d'))
    b.found(withServices('d', 'A,B'))
    expect(b.stats.droppedServiceNames).toBe(8)
    // an invalid record is an invalid record, its services not counted
    b.found({ id: 'bad', meta: { services: 'BAD' } })
    expect(b.stats).toMatchObject({ droppedServiceNames: 8, invalidRecords: 1 })
    await b.stop()
  })

  it('never reports itself, by option or set later', async () => {
    const b = new TestBackend('test', { self: testId('me') })
    await b.start()
    expect(b.found(peer('me'))).toBeUndefined()
    b.found(peer('later'))
    b.setSelf(testId('later'))
    expect(await b.lookup(testId('later'))).toBeUndefined()
    await b.stop()
  })

  it('emits nothing before start or after stop, and forgets peers on stop', async () => {
    const b = new TestBackend()
    const rec = recordEvents(b, ['peer:discovered', 'peer:lost', 'discovery:error'])
    b.found(peer('a'))
    b.failed(new Error('x'))
    await b.start()
    b.found(peer('a'))
    const stopping = b.stop()
    b.found(peer('b'))
    b.lost(testId('a'))
    await stopping
    expect(rec.events.map((e) => e.type)).toEqual(['peer:discovered'])
    expect(await b.list()).toEqual([])
  })

  it('bounds the peer map and counts overflow', async () => {
    const b = new TestBackend('test', { maxPeers: 2 })
    await b.start()
    b.found(peer('a'))
    b.found(peer('b'))
    expect(b.found(peer('c'))).toBeUndefined()
    expect(b.stats.overflowDrops).toBe(1)
    b.found(peer('a', 4001)) // updates still work when full
    expect((await b.lookup(testId('a')))?.addresses[0]?.port).toBe(4001)
    await b.stop()
  })

  it('serialises lifecycle calls and cancels a slow start on stop', async () => {
    const b = new TestBackend()
    b.startDelay = 10_000
    const starting = b.start()
    await new Promise((r) => setTimeout(r, 10))
    await b.stop()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(b.started).toBe(false)
    b.startDelay = 0
    await b.start()
    expect(b.started).toBe(true)
    await b.stop()
  })

  it('cleans up after a failed start and can start again', async () => {
    const b = new TestBackend()
    b.failStart = new Error('boom')
    await expect(b.start()).rejects.toThrow('boom')
    expect(b.started).toBe(false)
    expect(b.stops).toBe(1)
    b.failStart = undefined
    await b.start()
    expect(b.started).toBe(true)
    await b.stop()
  })

  it('isolates listeners that throw and counts them', async () => {
    const b = new TestBackend()
    await b.start()
    const seen: string[] = []
    b.addEventListener('peer:discovered', () => {
      throw new Error('listener bug')
    })
    b.addEventListener('peer:discovered', (e) => seen.push(e.detail.record.id))
    b.found(peer('a'))
    expect(seen).toEqual([testId('a')])
    expect(b.stats.listenerErrors).toBe(1)
    await b.stop()
  })

  it('removes wrapped listeners and handles listener objects', async () => {
    const b = new TestBackend()
    await b.start()
    let calls = 0
    const listener = { handleEvent: () => calls++ }
    b.addEventListener('peer:discovered', listener)
    b.found(peer('a'))
    b.removeEventListener('peer:discovered', listener)
    b.found(peer('b'))
    expect(calls).toBe(1)
    await b.stop()
  })

  it('reports errors as discovery:error while running', async () => {
    const b = new TestBackend()
    await b.start()
    const rec = recordEvents(b, ['discovery:error'])
    b.failed('string failure')
    expect((rec.events[0]!.detail as { error: Error }).error.message).toBe('string failure')
    expect(b.stats.errors).toBe(1)
    await b.stop()
  })

  it('a logger that throws never breaks the backend (its log calls run inside socket callbacks)', async () => {
    const b = new TestBackend('test', {
      logger: throwingLogger(),
    })
    await b.start()
    const rec = recordEvents(b, ['discovery:error'])
    expect(() => b.failed(new Error('transient'))).not.toThrow()
    expect(() => b.found({ id: 'bad' })).not.toThrow()
    expect(rec.events).toHaveLength(1)
    expect(b.stats.invalidRecords).toBe(1)
    await b.stop()
  })
})

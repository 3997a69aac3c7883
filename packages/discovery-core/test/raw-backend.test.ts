// A backend not built on AbstractDiscoveryBackend (the interface allows a plain EventTarget) that
// sends events of any shape: `Discovery` validates its records (counted drops, the backend's
// source as provenance) and never lets a malformed event throw. On a plain EventTarget a listener
// that throws is an uncaught exception: before, `detail: null` ended the process.
import { testId } from '@peer/testkit/ids'
import { RawBackend } from '@peer/testkit/manual-discovery'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { recordEvents } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { Discovery, type DiscoveryBackend } from '../src/index.js'

let discovery: Discovery | undefined
afterEach(async () => {
  await discovery?.stop()
})

describe('a backend that is not built on AbstractDiscoveryBackend', () => {
  it('cannot throw into the aggregate: malformed events are dropped and counted, valid ones kept', async () => {
    const raw = new RawBackend()
    const { factory, records } = recordingLogger()
    discovery = new Discovery({
      backends: [raw as unknown as DiscoveryBackend],
      logger: factory,
      lostHysteresisMs: 0,
    })
    await discovery.start()
    const events = recordEvents(discovery, ['peer:discovered', 'peer:lost', 'discovery:error'])
    const good = testId('good')
    for (const detail of [
      null,
      42,
      { record: null },
      { record: 42 },
      { record: { id: 'short' } },
      { record: { id: good, addresses: 'nope' } },
      { record: { id: good, addresses: [{ host: '0.0.0.0', port: 1 }] } },
      { record: { id: good, addresses: [{ host: '127.0.0.1', port: 99_999 }] } },
      { record: { id: good, name: 'a\nb', addresses: [{ host: '127.0.0.1', port: 1 }] } },
    ]) {
      raw.send('peer:discovered', detail)
      raw.send('peer:updated', detail)
    }
    expect(events.of('peer:discovered')).toHaveLength(0)
    expect(discovery.stats.invalidRecords).toBe(18)
    // one warning per backend and start; each drop at debug
    expect(records.filter((r) => r.level === 'warn').map((r) => r.fields?.source)).toEqual(['raw'])
    // a valid record without a source: the backend's source is its provenance
    raw.send('peer:discovered', { record: { id: good, addresses: [{ host: '127.0.0.1', port: 4000 }] } })
    expect(discovery.get(good)).toMatchObject({ id: good, source: 'raw', sources: ['raw'] })
    raw.send('peer:lost', null)
    raw.send('peer:lost', { record: null, reason: 'x' })
    expect(discovery.get(good)).toBeDefined()
    raw.send('peer:lost', { record: { id: good } })
    expect(events.of('peer:lost')).toHaveLength(1)
    expect(discovery.stats.invalidRecords).toBe(20)
    raw.send('discovery:error', null)
    raw.send('discovery:error', { error: 'not an Error' })
    expect(events.of('discovery:error')).toHaveLength(2)
    expect(discovery.lastErrors()).toMatchObject([{ source: 'raw', error: { message: 'not an Error' } }])
  })

  it("does not let a backend's broken stats getter break the aggregate's", async () => {
    const broken = new RawBackend()
    Object.defineProperty(broken, 'stats', {
      get() {
        throw new Error('stats broken')
      },
    })
    const odd = new RawBackend('odd')
    Object.defineProperty(odd, 'stats', { value: { invalidRecords: 'many', overflowDrops: 2 } })
    discovery = new Discovery({ backends: [broken, odd] as unknown as DiscoveryBackend[] })
    await discovery.start()
    expect(discovery.stats).toMatchObject({ invalidRecords: 0, overflowDrops: 2, listenerErrors: 0 })
  })
})

describe('calls into a backend written by hand', () => {
  it('refuses, at construction, a backend that lacks a member the aggregate calls, naming it', () => {
    const noLookup = Object.assign(new RawBackend('a'), { lookup: undefined })
    expect(
      () => new Discovery({ backends: [new RawBackend('ok'), noLookup] as unknown as DiscoveryBackend[] }),
    ).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        option: 'backends[1]',
        message: 'Discovery: backends[1] is not a discovery backend: lookup is not a function',
      }),
    )
    // without `started` the backend would never be asked by lookup: refused, not skipped
    const noStarted = Object.assign(new RawBackend('b'), { started: undefined })
    expect(() => new Discovery({ backends: [noStarted] as unknown as DiscoveryBackend[] })).toThrow(
      /backends\[0\] is not a discovery backend: started is not a boolean$/,
    )
    const plain = { source: 'p', capabilities: ['list'], started: false, start() {}, stop() {}, lookup() {} }
    expect(() => new Discovery({ backends: [plain] as unknown as DiscoveryBackend[] })).toThrow(
      /: capabilities is not a Set, addEventListener is not a function, removeEventListener is not a function$/,
    )
  })

  it('takes a synchronous throw from start or stop as that backend failing, not the aggregate', async () => {
    const throwing = new RawBackend('throws')
    throwing.start = () => {
      throw new Error('no start')
    }
    throwing.stop = () => {
      throw new Error('no stop')
    }
    const { factory, records } = recordingLogger()
    discovery = new Discovery({
      backends: [throwing, new RawBackend('ok')] as unknown as DiscoveryBackend[],
      logger: factory,
    })
    await discovery.start()
    expect(discovery.started).toBe(true)
    expect(discovery.lastErrors()).toMatchObject([{ source: 'throws', error: { message: 'no start' } }])
    await discovery.stop()
    expect(discovery.started).toBe(false)
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'backend failed to stop',
        fields: { source: 'throws', error: 'no stop' },
      }),
    )
    // the only backend throwing: the start fails as it does for a rejection, and can be retried
    const alone = new Discovery({ backends: [throwing] as unknown as DiscoveryBackend[] })
    await expect(alone.start()).rejects.toThrow('start failed on every backend (throws: no start)')
    expect(alone.started).toBe(false)
  })

  it("validates a raw backend's lookup answer: null is a miss, an invalid record a counted drop", async () => {
    const raw = new RawBackend()
    const next = new RawBackend('next')
    const good = testId('good')
    const answers: unknown[] = [
      null,
      'a string',
      { id: 42 },
      { id: good, addresses: [{ host: '0.0.0.0', port: 1 }] },
    ]
    let asked = 0
    raw.lookup = async () => answers[asked++]
    let nextAsked = 0
    next.lookup = async () => {
      nextAsked++
      return undefined
    }
    discovery = new Discovery({ backends: [raw, next] as unknown as DiscoveryBackend[] })
    await discovery.start()
    for (const _ of answers) expect(await discovery.lookup(good)).toBeUndefined()
    // each answer fell through to the next backend, as a miss does; the invalid ones were counted
    expect(nextAsked).toBe(4)
    expect(discovery.stats.invalidRecords).toBe(3)
    expect(discovery.lastErrors()).toEqual([])
    // a valid answer without a source gets the backend's as its provenance
    raw.lookup = () => ({ id: good, addresses: [{ host: '127.0.0.1', port: 4000 }] }) as never
    expect(await discovery.lookup(good)).toMatchObject({ id: good, source: 'raw' })
    // a synchronous throw is that backend failing the lookup
    raw.lookup = () => {
      throw new Error('lookup broke')
    }
    expect(await discovery.lookup(good)).toBeUndefined()
    expect(discovery.lastErrors()).toMatchObject([{ source: 'raw', error: { message: 'lookup broke' } }])
  })
})

describe('lastErrors', () => {
  it('says when a backend worked again after its last error, until it fails again', async () => {
    const raw = new RawBackend()
    const good = testId('good')
    const record = { id: good, addresses: [{ host: '127.0.0.1', port: 4000 }] }
    discovery = new Discovery({ backends: [raw, new RawBackend('other')] as unknown as DiscoveryBackend[] })
    await discovery.start()
    raw.send('discovery:error', { error: new Error('down') })
    expect(discovery.lastErrors()).toEqual([
      expect.objectContaining({ source: 'raw', error: new Error('down') }),
    ])
    expect(discovery.lastErrors()[0]!.recoveredAt).toBeUndefined()
    // an invalid record is not the backend working
    raw.send('peer:discovered', { record: { id: 'short' } })
    expect(discovery.lastErrors()[0]!.recoveredAt).toBeUndefined()
    raw.send('peer:discovered', { record })
    const recovered = discovery.lastErrors()[0]!.recoveredAt
    expect(recovered).toBeGreaterThanOrEqual(discovery.lastErrors()[0]!.at)
    // the first recovery is kept; a new error clears it
    raw.send('peer:updated', { record })
    expect(discovery.lastErrors()[0]!.recoveredAt).toBe(recovered)
    raw.send('discovery:error', { error: new Error('down again') })
    expect(discovery.lastErrors()[0]).not.toHaveProperty('recoveredAt')
    // an answered lookup (a miss too) is the backend working
    await discovery.lookup(testId('nobody'))
    expect(discovery.lastErrors()[0]!.recoveredAt).toBeDefined()
  })
})

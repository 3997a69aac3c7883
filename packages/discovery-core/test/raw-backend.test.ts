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

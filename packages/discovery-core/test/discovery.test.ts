import { testId } from '@peer/testkit/ids'
import { recordEvents } from '@peer/testkit/wait'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AllBackendsFailedError, Discovery } from '../src/index.js'
import { TestBackend } from './fixtures.js'

const peer = (label: string, host = '127.0.0.1', port = 4000, extra: object = {}) => ({
  id: testId(label),
  addresses: [{ host, port }],
  ...extra,
})
const ids = (events: Array<{ detail: unknown }>) =>
  events.map((e) => (e.detail as { record: { id: string } }).record.id)

describe('Discovery (aggregate)', () => {
  let first: TestBackend
  let second: TestBackend
  let discovery: Discovery
  beforeEach(async () => {
    first = new TestBackend('first')
    second = new TestBackend('second')
    discovery = new Discovery({ backends: [first, second], lostHysteresisMs: 100 })
    await discovery.start()
  })
  afterEach(async () => {
    vi.useRealTimers()
    await discovery.stop()
  })

  it('emits discovered on the first source and merges records with provenance', async () => {
    const rec = recordEvents(discovery, ['peer:discovered', 'peer:updated'])
    second.found(peer('a', '10.0.0.2', 4000, { name: 'a@second', meta: { zone: 'b', only2: 'x' } }))
    first.found(peer('a', '10.0.0.1', 4000, { name: 'a@first', meta: { zone: 'a' } }))
    expect(rec.of('peer:discovered')).toHaveLength(1)
    expect(rec.of('peer:updated')).toHaveLength(1)
    const merged = discovery.get(testId('a'))!
    expect(merged.sources).toEqual(['first', 'second'])
    expect(merged.source).toBe('first')
    expect(merged.name).toBe('a@first')
    expect(merged.addresses.map((a) => a.host)).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(merged.meta).toEqual({ zone: 'a', only2: 'x' })
  })

  it('emits lost only when the last source lost the peer, after the hysteresis window', async () => {
    vi.useFakeTimers()
    const rec = recordEvents(discovery, ['peer:lost'])
    first.found(peer('a'))
    second.found(peer('a'))
    first.lost(testId('a'))
    vi.advanceTimersByTime(1000)
    expect(rec.events).toHaveLength(0)
    second.lost(testId('a'))
    expect(rec.events).toHaveLength(0)
    expect(discovery.get(testId('a'))).toBeUndefined() // leaving: hidden from get/list
    vi.advanceTimersByTime(100)
    expect(ids(rec.events)).toEqual([testId('a')])
    expect((rec.events[0]!.detail as { source: string }).source).toBe('second')
  })

  it('a peer that flaps back within the window produces no events', async () => {
    vi.useFakeTimers()
    first.found(peer('a'))
    const rec = recordEvents(discovery, ['peer:discovered', 'peer:lost', 'peer:updated'])
    first.lost(testId('a'))
    vi.advanceTimersByTime(50)
    first.found(peer('a'))
    vi.advanceTimersByTime(500)
    expect(rec.events).toHaveLength(0)
    expect(discovery.stats.flapsSuppressed).toBe(1)
  })

  it('isolates a failing backend: errors never become mass loss', async () => {
    first.found(peer('a'))
    first.found(peer('b'))
    const rec = recordEvents(discovery, ['peer:lost', 'discovery:error'])
    first.failed(new Error('registry unreachable'))
    expect(rec.of('peer:lost')).toHaveLength(0)
    expect(rec.of('discovery:error')).toHaveLength(1)
    expect((await discovery.list()).length).toBe(2)
    // the same, synchronously
    expect(discovery.snapshot()).toEqual(await discovery.list())
    expect(discovery.snapshot().map((r) => r.id)).toEqual([testId('a'), testId('b')])
    // one entry per backend, the newest last, each with when it happened
    second.failed(new Error('second is down'))
    first.failed('still unreachable')
    expect(discovery.lastErrors().map((e) => [e.source, e.error.message])).toEqual([
      ['second', 'second is down'],
      ['first', 'still unreachable'],
    ])
    expect(discovery.lastErrors()[0]!.at).toBeLessThanOrEqual(Date.now())
    // a new start begins with none
    await discovery.stop()
    await discovery.start()
    expect(discovery.lastErrors()).toEqual([])
  })

  it('starts when some backends fail, reporting them; fails when all fail', async () => {
    const ok = new TestBackend('ok')
    const bad = new TestBackend('bad')
    bad.failStart = new Error('no server')
    const d = new Discovery({ backends: [bad, ok] })
    const rec = recordEvents(d, ['discovery:error'])
    await d.start()
    expect(d.started).toBe(true)
    expect(rec.events).toHaveLength(1)
    await d.stop()
    // the last error of each backend, kept for whoever asks why nobody was found
    expect(d.lastErrors()).toMatchObject([{ source: 'bad', error: { message: 'no server' } }])
    const worse = new TestBackend('worse')
    worse.failStart = new Error('also down')
    const all = new Discovery({ backends: [bad, worse] })
    await expect(all.start()).rejects.toBeInstanceOf(AllBackendsFailedError)
    expect(all.started).toBe(false)
  })

  it('looks up in priority order and falls back on a miss or an error', async () => {
    const calls: string[] = []
    first.lookupImpl = async () => {
      calls.push('first')
      throw new Error('timeout')
    }
    second.lookupImpl = async (n) => {
      calls.push('second')
      return n === 'a@box' ? { ...peer('a'), source: 'second' } : undefined
    }
    expect((await discovery.lookup('a@box'))?.id).toBe(testId('a'))
    expect(calls).toEqual(['first', 'second'])
    expect(await discovery.lookup('nobody@box')).toBeUndefined()
    second.lookupImpl = async () => {
      throw new Error('down too')
    }
    await expect(discovery.lookup('x@y')).rejects.toBeInstanceOf(AllBackendsFailedError)
  })

  it('times out a slow backend lookup and moves on', async () => {
    const d = new Discovery({
      backends: [new TestBackend('slow'), new TestBackend('fast')],
      lookupTimeoutMs: 50,
    })
    await d.start()
    const [slow, fast] = d.backends as TestBackend[]
    slow!.lookupImpl = () => new Promise(() => {})
    fast!.lookupImpl = async () => ({ ...peer('a'), source: 'fast' })
    expect((await d.lookup(testId('a')))?.source).toBe('fast')
    await d.stop()
  })

  it('takes a lookup time limit with a fraction of a ms (the error names it)', async () => {
    const d = new Discovery({ backends: [new TestBackend('slow')], lookupTimeoutMs: 20.5 })
    await d.start()
    const [slow] = d.backends as TestBackend[]
    slow!.lookupImpl = () => new Promise(() => {})
    const error = await d.lookup(testId('a')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AllBackendsFailedError)
    expect((error as AllBackendsFailedError).errors[0]?.error).toMatchObject({
      name: 'AbortError',
      message: 'lookup timed out after 20.5 ms',
    })
    await d.stop()
  })

  it('rejects lookup with AbortError when aborted', async () => {
    first.lookupImpl = () => new Promise(() => {})
    const controller = new AbortController()
    const pending = discovery.lookup('a@b', { signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await expect(discovery.list({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })

  it('filters itself and announces through capable backends only', async () => {
    const announcer = new TestBackend('pub', {}, ['announce', 'list'])
    const announced: string[] = []
    Object.assign(announcer, {
      announce: async (self: { id: string }) => {
        announced.push(self.id)
      },
      withdraw: async () => {},
    })
    const d = new Discovery({ backends: [announcer, new TestBackend('plain')] })
    await d.start()
    const rec = recordEvents(d, ['peer:discovered'])
    await d.announce(peer('me'))
    ;(d.backends[1] as TestBackend).found(peer('me'))
    expect(announced).toEqual([testId('me')])
    expect(rec.events).toHaveLength(0)
    await expect(d.announce({ id: 'bad', addresses: [] })).rejects.toThrow(/invalid peer record/)
    await d.withdraw()
    await d.stop()
  })

  it('bounds the peer map', async () => {
    const d = new Discovery({ backends: [new TestBackend('one')], maxPeers: 1 })
    await d.start()
    const b = d.backends[0] as TestBackend
    b.found(peer('a'))
    b.found(peer('b'))
    expect(d.size).toBe(1)
    expect(d.stats.overflowDrops).toBe(1)
    await d.stop()
  })

  it('emits nothing after stop and clears pending timers', async () => {
    first.found(peer('a'))
    first.lost(testId('a'))
    const rec = recordEvents(discovery, ['peer:lost', 'peer:discovered'])
    await discovery.stop()
    first.found(peer('b'))
    await new Promise((r) => setTimeout(r, 150))
    expect(rec.events).toHaveLength(0)
  })

  it('rejects duplicate sources and empty backend lists', () => {
    expect(() => new Discovery({ backends: [] })).toThrow(/at least one/)
    expect(() => new Discovery({ backends: [new TestBackend('x'), new TestBackend('x')] })).toThrow(
      /share the source/,
    )
  })
})

// Invalid options throw RegistryConfigError (a ConfigError from @peer/discovery-core, naming the
// option), never a bare TypeError or RangeError; renamed duration options keep their old names as
// deprecated aliases; start() and stop() take a signal.
import { AbortError, ConfigError, type PeerRecord } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import {
  PeerRegistry,
  type PeerRegistryOptions,
  type PeerSource,
  RegistryConfigError,
  type RegistryConnection,
  ServerRegistry,
} from '../src/index.js'

function configError(make: () => unknown, option: string): void {
  let thrown: unknown
  try {
    make()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(RegistryConfigError)
  expect(thrown).toBeInstanceOf(ConfigError)
  expect((thrown as ConfigError).option).toBe(option)
}

const self = testId('config-self')
const base: PeerRegistryOptions = {
  self,
  transport: { dial: () => new Promise(() => {}) },
  trust: () => true,
}

describe('PeerRegistry options', () => {
  it('requires a transport with dial and a trust list or predicate', () => {
    configError(() => new PeerRegistry({ ...base, transport: {} as never }), 'transport')
    configError(() => new PeerRegistry({ ...base, trust: {} as never }), 'trust')
  })

  it.each([
    ['maxPeers', 0],
    ['maxConcurrentDials', 1.5],
    ['dialTimeoutMs', 0],
    ['dialTimeoutMs', Number.NaN],
    ['stableAfterMs', -1],
    ['simultaneousWindowMs', Number.POSITIVE_INFINITY],
    ['maxAddressesPerPeer', 0],
    ['departedHoldMs', '15s'],
    ['stopTimeoutMs', 0],
    ['probeAttemptMs', -1],
    ['maxConnections', 0],
    ['connect', 'lazy'],
    ['evictIdle', 'none'],
  ])('rejects %s = %s', (option, value) => {
    configError(() => new PeerRegistry({ ...base, [option]: value }), option)
  })

  it('rejects bad backoff delays, naming the nested option', () => {
    configError(
      () => new PeerRegistry({ ...base, backoff: { initialDelayMs: -1 } }),
      'backoff.initialDelayMs',
    )
    configError(
      () => new PeerRegistry({ ...base, backoff: { maxDelayMs: Number.NaN } }),
      'backoff.maxDelayMs',
    )
    configError(() => new PeerRegistry({ ...base, backoff: { maxDelay: -5 } }), 'backoff.maxDelayMs')
    configError(() => new PeerRegistry({ ...base, backoff: 5 as never }), 'backoff')
  })

  it('accepts the deprecated names, and rejects an old and a new name that disagree', () => {
    const old = { dialTimeout: 500, stableAfter: 0, simultaneousWindow: 10 }
    expect(new PeerRegistry({ ...base, ...old, backoff: { initialDelay: 1, maxDelay: 2 } }).started).toBe(
      false,
    )
    expect(new PeerRegistry({ ...base, dialTimeout: 500, dialTimeoutMs: 500 }).started).toBe(false)
    configError(() => new PeerRegistry({ ...base, dialTimeout: 500, dialTimeoutMs: 600 }), 'dialTimeoutMs')
    configError(() => new PeerRegistry({ ...base, stableAfter: 1, stableAfterMs: 2 }), 'stableAfterMs')
    configError(
      () => new PeerRegistry({ ...base, simultaneousWindow: 1, simultaneousWindowMs: 2 }),
      'simultaneousWindowMs',
    )
    configError(
      () => new PeerRegistry({ ...base, backoff: { initialDelay: 1, initialDelayMs: 2 } }),
      'backoff.initialDelayMs',
    )
  })
})

describe('ServerRegistry options', () => {
  it.each([0, -1, 1.5, Number.NaN, '10'])('rejects maxServers = %s', (value) => {
    configError(() => new ServerRegistry({ maxServers: value as number }), 'maxServers')
  })
})

/** A discovery source whose list() answers only when told, and which counts its listeners. */
function slowSource() {
  const target = new EventTarget()
  let listeners = 0
  let answer: (records: readonly PeerRecord[]) => void = () => {}
  const source = {
    addEventListener: (type: string, listener: EventListener) => {
      listeners++
      target.addEventListener(type, listener)
    },
    removeEventListener: (type: string, listener: EventListener) => {
      listeners--
      target.removeEventListener(type, listener)
    },
    list: () =>
      new Promise<readonly PeerRecord[]>((resolve) => {
        answer = resolve
      }),
  } as unknown as PeerSource
  return { source, listeners: () => listeners, answer: (records: readonly PeerRecord[]) => answer(records) }
}

/** An inbound connection whose `closed` never settles. */
function stuckConnection(remoteId: string) {
  const closes: string[] = []
  const conn: RegistryConnection = {
    remoteId,
    close: (reason?: string) => {
      closes.push(reason ?? '')
    },
    closed: new Promise(() => {}),
  }
  return { conn, closes }
}

describe('PeerRegistry start/stop signals', () => {
  it('start with an aborted signal throws AbortError and starts nothing', async () => {
    const slow = slowSource()
    const registry = new PeerRegistry({ ...base, discovery: slow.source })
    await expect(registry.start({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    expect(registry.started).toBe(false)
    expect(slow.listeners()).toBe(0)
  })

  it('a start aborted while discovery lists throws AbortError and undoes itself', async () => {
    const slow = slowSource()
    const registry = new PeerRegistry({ ...base, discovery: slow.source })
    const controller = new AbortController()
    const starting = registry.start({ signal: controller.signal })
    expect(slow.listeners()).toBeGreaterThan(0)
    // an inbound connection adopted while the start is under way is closed by the undo
    const inbound = stuckConnection(testId('config-inbound'))
    expect(registry.accept(inbound.conn)).toBe(true)
    controller.abort()
    await expect(starting).rejects.toBeInstanceOf(AbortError)
    expect(registry.started).toBe(false)
    expect(registry.size).toBe(0)
    expect(slow.listeners()).toBe(0)
    expect(inbound.closes).toEqual(['shutdown'])
    // and it can be started again
    const again = registry.start()
    slow.answer([])
    await again
    expect(registry.started).toBe(true)
    await registry.stop({ signal: AbortSignal.abort() })
  })

  it('stop with an aborted signal still tears everything down and resolves at once', async () => {
    const registry = new PeerRegistry({ ...base, stopTimeoutMs: 600_000 })
    await registry.start()
    const inbound = stuckConnection(testId('config-stuck'))
    expect(registry.accept(inbound.conn)).toBe(true)
    expect(registry.size).toBe(1)
    // the connection never reports closed and the stop timeout is 10 minutes: only the aborted
    // signal lets this stop resolve within the test's timeout
    await registry.stop({ signal: AbortSignal.abort() })
    expect(registry.started).toBe(false)
    expect(registry.size).toBe(0)
    expect(inbound.closes).toEqual(['shutdown'])
  })
})

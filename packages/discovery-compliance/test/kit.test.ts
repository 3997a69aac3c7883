import { ConfigError, type DiscoveryBackend } from '@peer/discovery-core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { checkNoLeaks, runScenario, type Scenario, scenarios, skipReason } from '../src/index.js'
import { describeDiscoveryCompliance } from '../src/vitest.js'
import { clearLeakedTimers, type Flaw, memoryHarness } from './memory-backend.js'

afterEach(clearLeakedTimers)

// The reference backend passes the whole kit through the vitest adapter.
describeDiscoveryCompliance('memory reference backend', () => memoryHarness(), {
  capabilities: ['announce', 'list', 'watch', 'expiry'],
})

function scenario(prefix: string): Scenario {
  const found = scenarios.find((s) => s.name.startsWith(prefix))
  if (!found) throw new Error(`no scenario starting with ${prefix}`)
  return found
}

// Each deliberately broken backend must fail the scenario that checks the rule it breaks.
const cases: Array<[Flaw, string, RegExp]> = [
  ['events-before-start', 'no events before start', /before start/],
  ['events-after-stop', 'no events before start', /after stop/],
  ['start-not-idempotent', 'start and stop are idempotent', /already started/],
  ['duplicate-discovered', 'repeated announcements', /more than one peer:discovered/],
  ['reports-self', 'a node never reports itself', /reported itself/],
  ['no-lost-on-withdraw', 'withdrawing', /no peer:lost/],
  ['ignores-abort', 'a pre-aborted signal', /resolved, expected a rejection/],
  ['wrong-abort-error', 'a pre-aborted signal', /instead of an AbortError/],
  ['accepts-invalid-announce', 'announcing an invalid record', /resolved, expected a rejection/],
  ['emits-invalid-records', 'malformed input', /invalid record was reported/],
  ['listener-breaks-backend', 'a listener that throws', /listenerErrors|missed the event|stopped working/],
  ['no-async-dispose', '[Symbol.asyncDispose]', /no \[Symbol.asyncDispose\]/],
  ['lookup-misses', 'one instance publishes', /lookup\(id\) did not find/],
  ['ignores-expiry', 'a record that expires', /no peer:lost after the record expired/],
  ['keeps-lost-records', 'peers that come and go', /still holds records of lost peers \(18 of 18/],
  ['remembers-lost-peers', 'peers that come and go', /lookup\(id\) still finds lost peer/],
  ['null-for-miss', 'looking up an unknown peer', /lookup resolved null for a miss: resolve undefined/],
  ['null-for-miss', 'withdrawing', /lookup resolved null for a miss/],
  [
    'malformed-events',
    'one instance publishes',
    /the backend emitted an event without the documented detail \{ record: \{ id, \.\.\. \}, source \}: peer:discovered with detail an object with keys peer, source/,
  ],
  [
    'leaks-timer',
    'start and stop are idempotent',
    // one interval per start: how many are left depends on what else was pending before
    /resources left after stop\(\) and teardown\(\): \d+ x Timeout/,
  ],
]

describe('the kit catches broken backends', () => {
  it.each(cases)('%s fails "%s"', async (flaw, prefix, message) => {
    await expect(runScenario(memoryHarness(flaw), scenario(prefix))).rejects.toThrow(message)
  })

  it('a leak fails the scenario that caused it, not the next one', async () => {
    const leaky = memoryHarness('leaks-timer')
    await expect(
      runScenario(leaky, scenario('start and stop are idempotent'), { settleMs: 300 }),
    ).rejects.toThrow(/Timeout/)
    // the scenario after it, on a correct backend, passes
    await runScenario(memoryHarness(), scenario('[Symbol.asyncDispose]'), { settleMs: 1000 })
  })

  it('the leak check can be turned off for one scenario', async () => {
    await runScenario(memoryHarness('leaks-timer'), scenario('[Symbol.asyncDispose]'), { leakCheck: false })
  })

  it('a leaked timer fails the leak check', async () => {
    await expect(checkNoLeaks(memoryHarness('leaks-timer'), 300)).rejects.toThrow(/Timeout/)
  })

  it('a correct backend passes the leak check', async () => {
    await checkNoLeaks(memoryHarness(), 1000)
  })

  it('an instance without a member of DiscoveryBackend fails before the scenario runs, named', async () => {
    let tornDown = 0
    const handWritten = Object.assign(new EventTarget(), {
      source: 'mine',
      capabilities: new Set(['list']),
      started: false,
      async start() {},
      async stop() {},
    })
    const harness = {
      setup: async () => [handWritten as unknown as DiscoveryBackend],
      teardown: async () => {
        tornDown++
      },
    }
    await expect(runScenario(harness, scenario('start and stop are idempotent'))).rejects.toThrow(
      'harness.setup() returned an instance that is not a DiscoveryBackend (instance 0: lookup is not a function)',
    )
    expect(tornDown).toBe(1)
  })
})

describe('propagationTimeoutMs', () => {
  it('bounds every wait; the deprecated propagationTimeout still works with a one-time warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const withMs = { ...memoryHarness('no-lost-on-withdraw'), propagationTimeoutMs: 200 }
      await expect(runScenario(withMs, scenario('withdrawing'))).rejects.toThrow(/waited 200 ms/)
      expect(warn).not.toHaveBeenCalled()
      const { propagationTimeoutMs: _, ...old } = memoryHarness('no-lost-on-withdraw')
      await expect(runScenario({ ...old, propagationTimeout: 300 }, scenario('withdrawing'))).rejects.toThrow(
        /waited 300 ms/,
      )
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(/`propagationTimeout` is deprecated; use `propagationTimeoutMs`/),
      ])
      const both = { ...memoryHarness(), propagationTimeout: 300, propagationTimeoutMs: 200 }
      await expect(runScenario(both, scenario('withdrawing'))).rejects.toMatchObject({ name: 'ConfigError' })
    } finally {
      warn.mockRestore()
    }
  })
})

describe('timeout options are range-checked', () => {
  const bad: unknown[] = [Number.NaN, -1, 0, Number.POSITIVE_INFINITY, '5000', 2 ** 31]

  it('runScenario rejects a bad propagationTimeoutMs or propagationTimeout before setup', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      for (const value of bad) {
        for (const name of ['propagationTimeoutMs', 'propagationTimeout']) {
          let setups = 0
          const { propagationTimeoutMs: _, ...base } = memoryHarness()
          const harness = {
            ...base,
            setup: (...args: Parameters<typeof base.setup>) => {
              setups++
              return base.setup(...args)
            },
            [name]: value,
          }
          const error = await runScenario(harness, scenario('withdrawing')).catch((e: unknown) => e)
          expect(error, `${name}: ${String(value)}`).toBeInstanceOf(ConfigError)
          expect(error).toMatchObject({
            option: 'propagationTimeoutMs',
            message: expect.stringMatching(
              /^propagationTimeoutMs must be a number > 0 and <= 2147483647, got/,
            ),
          })
          expect(setups).toBe(0)
        }
      }
    } finally {
      warn.mockRestore()
    }
  })

  it('describeDiscoveryCompliance rejects a bad testTimeoutMs, testTimeout or harness timeout', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const capabilities = ['announce', 'list', 'watch', 'expiry'] as const
      for (const value of bad) {
        for (const name of ['testTimeoutMs', 'testTimeout']) {
          const options = { capabilities, [name]: value }
          expect(() => describeDiscoveryCompliance('bad', () => memoryHarness(), options)).toThrow(
            expect.objectContaining({
              name: 'ConfigError',
              option: 'testTimeoutMs',
              message: expect.stringMatching(/^testTimeoutMs must be a number > 0/),
            }),
          )
        }
        const harness = () => ({ ...memoryHarness(), propagationTimeoutMs: value as number })
        expect(() =>
          describeDiscoveryCompliance('bad', harness, { capabilities, testTimeoutMs: 1000 }),
        ).toThrow(expect.objectContaining({ name: 'ConfigError', option: 'propagationTimeoutMs' }))
      }
    } finally {
      warn.mockRestore()
    }
  })
})

describe('skipReason', () => {
  it('explains missing capabilities and harness methods', () => {
    const harness = memoryHarness()
    const withdraw = scenario('withdrawing')
    expect(skipReason(withdraw, new Set(), { ...harness, seed: undefined, unseed: undefined })).toMatch(
      /announce/,
    )
    expect(skipReason(withdraw, new Set(['announce']), harness)).toBeUndefined()
    expect(skipReason(scenario('malformed'), new Set(), { ...harness, seedInvalid: undefined })).toMatch(
      /seedInvalid/,
    )
    const expires = scenario('a record that expires')
    expect(skipReason(expires, new Set(['list']), harness)).toMatch(/capability 'expiry'/)
    expect(skipReason(expires, new Set(['expiry']), { ...harness, seedExpiring: undefined })).toMatch(
      /seedExpiring/,
    )
    expect(skipReason(expires, new Set(['expiry']), harness)).toBeUndefined()
  })
})

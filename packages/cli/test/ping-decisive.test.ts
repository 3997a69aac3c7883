// Which dial failures end `peer ping` at once: those another dial would repeat, also when every
// address of the target failed so (an AggregateError from the registry).
import { expect, it } from 'vitest'
import { isDecisive, refusedUs } from '../src/dial-verdict.js'

const named = (name: string) => Object.assign(new Error(name), { name })

it('a wrong id or a refusal is decisive; a timeout is not, nor an aggregate with one', () => {
  expect(isDecisive(named('PinningError'))).toBe(true)
  expect(isDecisive(named('UntrustedPeerError'))).toBe(true)
  expect(isDecisive(named('DialTimeoutError'))).toBe(false)
  expect(isDecisive(new AggregateError([named('PinningError'), named('UntrustedPeerError')], 'all'))).toBe(
    true,
  )
  expect(isDecisive(new AggregateError([named('PinningError'), named('DialTimeoutError')], 'all'))).toBe(
    false,
  )
  expect(isDecisive(new AggregateError([], 'none'))).toBe(false)
})

it('the trust-list hint is given when some address refused this identity', () => {
  expect(refusedUs(named('UntrustedPeerError'))).toBe(true)
  expect(refusedUs(named('PinningError'))).toBe(false)
  expect(refusedUs(new AggregateError([named('PinningError'), named('UntrustedPeerError')], 'all'))).toBe(
    true,
  )
  expect(refusedUs(new AggregateError([named('PinningError'), named('PinningError')], 'all'))).toBe(false)
})

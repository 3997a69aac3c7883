// Fuzz: the parsers of command-line values a user types: `--duration <seconds>`, `--interval <ms>`,
// counts (`parseSeconds`, `parseMillis`, `parseInteger`), `--peer <id@host:port,...>`
// (`parsePeerSpec`) and ping targets (`parsePingTarget`), fed valid, mutated and random text.
// Invariants: only commander's `InvalidArgumentError` or our `UsageError`, with a useful message; an
// accepted number is plain decimal text and in range (a duration fits a Node.js timer); an accepted
// peer has a valid node id; an accepted target is of one kind and keeps what it was given. See
// docs/fuzzing.md.
import { isNodeId } from '@peer/discovery-core'
import { MAX_TIMER_MS } from '@peer/discovery-core/internal'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { expectDocumentedError, mutatedText, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import { InvalidArgumentError } from 'commander'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../src/errors.js'
import { MAX_FLAG_SECONDS, parseInteger, parseMillis, parsePeerSpec, parseSeconds } from '../src/internal.js'
import { parsePingTarget } from '../src/ping-command.js'

const ID = 'y4l6tnqypq6chod5hvgo5fycfb6u44wo4z3keeqfi7itbmekp7xa'
const numberText = fc.oneof(
  fc.nat().map(String),
  fc.double({ min: 0, max: 1e12, noNaN: true }).map(String),
  mutatedText(fc.constantFrom('20', '0.5', '1000', '2147483', '2147483647', '1e3', '0x10')),
  fc.string({ maxLength: 12 }),
)

/** Runs `parse`: its value, or undefined after checking the error is a documented one. */
function parsed<T>(parse: () => T): T | undefined {
  try {
    return withinCaseBound(parse)
  } catch (error) {
    if (error instanceof InvalidArgumentError) expectDocumentedError(error, InvalidArgumentError)
    else expectDocumentedError(error, UsageError)
    return undefined
  }
}

describe('command-line values, fuzzed', () => {
  it(
    'a number flag is plain decimal, positive and in range; a duration fits a timer',
    () => {
      fc.assert(
        fc.property(numberText, (text) => {
          const seconds = parsed(() => parseSeconds(text))
          if (seconds !== undefined) {
            expect(text).toMatch(/^\d+(\.\d+)?$/)
            expect(seconds).toBeGreaterThan(0)
            expect(seconds * 1000).toBeLessThanOrEqual(MAX_TIMER_MS + 1000)
            expect(seconds).toBeLessThanOrEqual(MAX_FLAG_SECONDS)
          }
          const ms = parsed(() => parseMillis(text))
          if (ms !== undefined) {
            expect(text).toMatch(/^\d+$/)
            expect(Number.isInteger(ms) && ms > 0 && ms <= MAX_TIMER_MS).toBe(true)
          }
          const count = parsed(() => parseInteger(text, 1, 1_000_000))
          if (count !== undefined)
            expect(Number.isInteger(count) && count >= 1 && count <= 1_000_000).toBe(true)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a --peer value gives a valid node id and its addresses, or a UsageError',
    () => {
      const spec = fc.oneof(
        mutatedText(fc.constantFrom(`${ID}@127.0.0.1:4000`, `${ID}@[::1]:4000,10.0.0.1:1`)),
        fc.string({ maxLength: 80 }),
      )
      fc.assert(
        fc.property(spec, (text) => {
          const peer = parsed(() => parsePeerSpec(text))
          if (peer === undefined) return
          expect(isNodeId(peer.id)).toBe(true)
          expect(`${peer.id}@${peer.addresses.join(',')}`).toBe(text)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a ping target is one kind (service, id, address, name) or a UsageError',
    () => {
      const target = fc.oneof(
        mutatedText(fc.constantFrom('service:kv', ID, '127.0.0.1:4000', '[::1]:4000', 'app@host', 'app')),
        fc.string({ maxLength: 60 }),
      )
      fc.assert(
        fc.property(target, (text) => {
          const t = parsed(() => parsePingTarget(text))
          if (t === undefined) return
          if (t.kind === 'service') expect(`service:${t.service}`).toBe(text)
          else if (t.kind === 'id') expect(t.id).toBe(text)
          else if (t.kind === 'name') expect(t.name).toBe(text)
          else expect(t.address.port).toBeGreaterThan(0)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it('names the limit: --duration past a timer is refused as a flag, not as durationMs', () => {
    expect(() => parseSeconds('3000000')).toThrow(`at most ${MAX_FLAG_SECONDS}`)
    expect(() => parseSeconds('0x10')).toThrow(InvalidArgumentError)
    expect(() => parseMillis(' 5')).toThrow(InvalidArgumentError)
    expect(parseSeconds('0.5')).toBe(0.5)
    expect(parseMillis('2147483647')).toBe(MAX_TIMER_MS)
  })
})

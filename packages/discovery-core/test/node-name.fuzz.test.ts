// Fuzz: node names (`name@host`, `port@ip`) from config files, flags, TXT records and etcd values.
// Invariants: only InvalidNodeNameError, with a message naming the input; a parsed name is sound
// and round-trips through formatNodeName; isNodeName agrees; bounded time. See docs/fuzzing.md.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { ipArb, namePartArb, nodeNameArb } from '@peer/testkit/fuzz-arbitraries'
import { mutatedText, parseOrDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  formatNodeName,
  hostProblem,
  InvalidNodeNameError,
  ipFamily,
  isNodeName,
  MAX_NODE_NAME_LENGTH,
  type NodeName,
  parseNodeName,
} from '../src/index.js'

/** Checks everything that must hold for any input; returns the parsed name when it parsed. */
function check(input: string): NodeName | undefined {
  const result = withinCaseBound(() =>
    parseOrDocumentedError(() => parseNodeName(input), InvalidNodeNameError),
  )
  expect(isNodeName(input)).toBe(result.ok)
  if (!result.ok) {
    expect(result.error.message).toContain('invalid node name')
    expect(result.error.input).toBe(input.length > 100 ? `${input.slice(0, 100)}...` : input)
    return undefined
  }
  const name = result.value
  expect(input.length).toBeLessThanOrEqual(MAX_NODE_NAME_LENGTH)
  if (name.kind === 'port') {
    expect(Number.isInteger(name.port) && name.port >= 1 && name.port <= 65535).toBe(true)
    expect(ipFamily(name.ip)).toBe(name.family)
    expect(name.ip.startsWith('[')).toBe(false)
  } else {
    expect(name.name).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(hostProblem(name.host)).toBeUndefined()
    // brackets belong around IPv6 literals only
    if (name.host.startsWith('[')) expect(ipFamily(name.host.slice(1, -1))).toBe(6)
  }
  // round trip: format -> parse gives the same name
  const formatted = formatNodeName(name)
  expect(parseNodeName(formatted)).toEqual(name)
  return name
}

describe('node names (fuzz)', () => {
  it(
    'valid names parse to what was generated and round-trip',
    () => {
      fc.assert(
        fc.property(nodeNameArb, (input) => {
          const name = check(input)
          expect(name).toBeDefined()
          const at = input.indexOf('@')
          if (name?.kind === 'name') {
            expect(name.name).toBe(input.slice(0, at))
            expect(name.host).toBe(input.slice(at + 1))
            expect(name.long).toBe(name.host.includes('.') || ipFamily(name.host) !== 0)
          } else if (name?.kind === 'port') {
            expect(name.port).toBe(Number(input.slice(0, at)))
          }
          expect(formatNodeName(name!)).toBe(input.replace(/@\[(.*)\]$/, '@$1'))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated names: a sound name or InvalidNodeNameError',
    () => {
      fc.assert(
        fc.property(mutatedText(nodeNameArb), (input) => {
          check(input)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'arbitrary text (and name/ip splices): a sound name or InvalidNodeNameError',
    () => {
      const text = fc.oneof(
        fc.string({ maxLength: 300, unit: 'binary' }),
        fc.string({ maxLength: 40, unit: fc.constantFrom('@', '[', ']', ':', '.', '0', '1', 'a', '-', '_') }),
        fc
          .tuple(
            fc.oneof(namePartArb, fc.nat().map(String)),
            fc.string({ maxLength: 4 }),
            ipArb,
            fc.boolean(),
          )
          .map(([left, glue, ip, bracket]) => (bracket ? `${left}@[${ip}]` : `${left}@${glue}${ip}`)),
      )
      fc.assert(
        fc.property(text, (input) => {
          check(input)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

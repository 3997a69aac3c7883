// Fuzz: node ids as read from peer records, TXT records, etcd keys and trust files.
// Invariants: isNodeId and assertNodeId agree; assertNodeId throws only InvalidNodeIdError with a
// message saying what is wrong; an id is base32(32 bytes) and encodeBase32 produces ids.

import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { nodeIdArb } from '@peer/testkit/fuzz-arbitraries'
import { mutatedText, parseOrDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertNodeId, encodeBase32, InvalidNodeIdError, isNodeId, NODE_ID_LENGTH } from '../src/index.js'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32 decoding, written independently of the encoder, for the round trip. */
function decodeBase32(text: string): Uint8Array {
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const ch of text) {
    value = (value << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(out)
}

function check(input: unknown): void {
  const result = withinCaseBound(() => parseOrDocumentedError(() => assertNodeId(input), InvalidNodeIdError))
  expect(isNodeId(input)).toBe(result.ok)
  if (result.ok) {
    const id = input as string
    expect(id).toHaveLength(NODE_ID_LENGTH)
    // a valid id is exactly the encoding of its 32 bytes (no stray padding bits)
    expect(encodeBase32(decodeBase32(id))).toBe(id)
  } else {
    expect(result.error.message).toMatch(/^node id /)
  }
}

describe('node ids (fuzz)', () => {
  it(
    'encodeBase32 of 32 bytes is a valid id that decodes to the same bytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
          const id = encodeBase32(bytes)
          check(id)
          expect(decodeBase32(id)).toEqual(bytes)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated ids and arbitrary values: valid, or InvalidNodeIdError saying why',
    () => {
      const input = fc.oneof(
        mutatedText(nodeIdArb),
        // base32 only, so the length and the padding bits of the last character are what is tested
        fc.string({ minLength: 50, maxLength: 54, unit: fc.constantFrom(...BASE32) }),
        fc.tuple(nodeIdArb, fc.constantFrom(...BASE32)).map(([id, last]) => id.slice(0, -1) + last),
        fc.anything(),
      )
      fc.assert(fc.property(input, check), fuzzParams())
    },
    fuzzTimeoutMs(),
  )
})

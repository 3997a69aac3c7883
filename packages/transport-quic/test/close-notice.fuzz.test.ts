// Fuzz: the close notice a peer sends when it closes a connection (`decodeCloseNotice`: a u32 code
// and a UTF-8 reason), fed valid, mutated, spliced and random bodies. Invariants: never throws;
// undefined exactly when the body is shorter than the code; the code is the body's first four
// bytes; the reason comes from at most MAX_CLOSE_REASON_BYTES bytes and holds no control character
// (a peer's reason reaches logs and terminals); encode -> decode gives back any reason of printable
// text within the limit; bounded time. See docs/fuzzing.md.
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { mutatedBytes, splicedBytes, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCloseNotice, encodeCloseNotice, MAX_CLOSE_REASON_BYTES } from '../src/close-notice.js'

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** A reason as our own closes write them: printable text (any script), within the byte limit. */
const printable = fc
  .string({ unit: 'grapheme', maxLength: 120 })
  .map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ''))
  .filter((s) => Buffer.byteLength(s) <= MAX_CLOSE_REASON_BYTES)
/** A notice body (without its preamble byte), as a peer would send it. */
const body = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.string({ unit: 'binary', maxLength: 700 }))
  .map(([code, reason]) => encodeCloseNotice(code, reason).subarray(1))

describe('close notice, fuzzed', () => {
  it(
    'decodes any body without throwing: the code, and a bounded reason with no control character',
    () => {
      const input = fc.oneof(body, mutatedBytes(body), splicedBytes(body), fc.uint8Array({ maxLength: 1200 }))
      fc.assert(
        fc.property(input, (bytes) => {
          const notice = withinCaseBound(() => decodeCloseNotice(bytes))
          if (bytes.byteLength < 4) {
            expect(notice).toBeUndefined()
            return
          }
          expect(notice).toBeDefined()
          expect(notice!.code).toBe(Buffer.from(bytes).readUInt32BE(0))
          expect(CONTROL.test(notice!.reason)).toBe(false)
          // each input byte gives at most one character (U+FFFD for a bad sequence or a control)
          expect(notice!.reason.length).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'encode -> decode gives back the code and any printable reason within the limit',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), printable, (code, reason) => {
          const notice = decodeCloseNotice(encodeCloseNotice(code, reason).subarray(1))
          expect(notice).toEqual({ code, reason })
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it('replaces a newline or a terminal escape in a reason', () => {
    const notice = decodeCloseNotice(encodeCloseNotice(1, 'bye\n\u001b[2Jfake log line\u009b').subarray(1))
    expect(notice).toEqual({ code: 1, reason: 'bye\ufffd\ufffd[2Jfake log line\ufffd' })
  })
})

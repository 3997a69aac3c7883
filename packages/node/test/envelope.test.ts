import { describe, expect, it } from 'vitest'
import { toWireError } from '../src/envelope.js'
import { EncodeError, MAX_TOPIC_LENGTH, MalformedEnvelopeError, MessageTooLargeError } from '../src/index.js'
import { decodeEnvelope, encodeEnvelope, encodeValue, MAX_REQUEST_ID } from '../src/internal.js'

const MAX = 1024 * 1024

function malformed(bytes: Uint8Array): MalformedEnvelopeError {
  try {
    decodeEnvelope(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedEnvelopeError)
    return error as MalformedEnvelopeError
  }
  throw new Error('expected a MalformedEnvelopeError')
}

describe('envelope round trips', () => {
  it('every kind encodes and decodes to itself', () => {
    const cases = [
      { kind: 'hello', name: 'a@host' },
      { kind: 'hello', name: undefined },
      { kind: 'hello', name: 'a@host', maxMessageSize: 65536 },
      { kind: 'msg', topic: 't', payload: { a: [1, 'x', null, true], b: 1.5 } },
      { kind: 'req', topic: 't', id: 7, payload: 'hi' },
      { kind: 'res', topic: 't', id: MAX_REQUEST_ID, payload: [1, 2] },
      {
        kind: 'err',
        topic: 't',
        id: 1,
        error: { type: 'handler', name: 'TypeError', message: 'boom', code: 'E1' },
      },
      { kind: 'err', topic: 't', id: 1, error: { type: 'no-handler', name: 'NoHandlerError', message: 'x' } },
      { kind: 'ping', id: 3 },
      { kind: 'pong', id: 3 },
      { kind: 'lane', id: 6 },
      { kind: 'ack', id: 1, count: 64 },
    ] as const
    for (const envelope of cases) {
      expect(decodeEnvelope(encodeEnvelope(envelope, MAX))).toEqual(envelope)
    }
  })

  it('bytes payloads arrive as bytes', () => {
    const bytes = new Uint8Array([0, 1, 2, 255])
    const out = decodeEnvelope(encodeEnvelope({ kind: 'msg', topic: 't', payload: bytes }, MAX))
    expect(out.kind).toBe('msg')
    const payload = (out as { payload: unknown }).payload
    expect(payload).toBeInstanceOf(Uint8Array)
    expect([...(payload as Uint8Array)]).toEqual([0, 1, 2, 255])
  })

  it('large byte payloads encode to the same bytes as plain MessagePack (one copy, exact size)', () => {
    for (const size of [16 * 1024 - 1, 16 * 1024, 65_535, 65_536, 1_000_000]) {
      const whole = new Uint8Array(size + 3).map((_, i) => i * 7)
      for (const payload of [whole.subarray(3), Buffer.from(whole.subarray(3))]) {
        const cases = [
          { envelope: { kind: 'msg', topic: 'bulk', payload } as const, wire: [1, 1, 'bulk', 0, payload] },
          {
            envelope: { kind: 'req', topic: 't', id: 70_000, payload } as const,
            wire: [1, 2, 't', 70_000, payload],
          },
          { envelope: { kind: 'res', topic: 'é', id: 9, payload } as const, wire: [1, 3, 'é', 9, payload] },
        ]
        for (const { envelope, wire } of cases) {
          const bytes = encodeEnvelope(envelope, 2 * MAX)
          expect(Buffer.from(bytes).equals(Buffer.from(encodeValue(wire)))).toBe(true)
          expect(bytes.byteLength).toBe(encodeValue(wire).byteLength)
          const back = decodeEnvelope(bytes) as { payload: Uint8Array }
          expect(Buffer.from(back.payload).equals(Buffer.from(payload))).toBe(true)
        }
      }
    }
    expect(() => encodeEnvelope({ kind: 'msg', topic: 'x', payload: new Uint8Array(MAX) }, MAX)).toThrow(
      MessageTooLargeError,
    )
  })

  it('an envelope above the size limit is refused before sending', () => {
    expect(() => encodeEnvelope({ kind: 'msg', topic: 't', payload: new Uint8Array(2000) }, 1000)).toThrow(
      MessageTooLargeError,
    )
  })

  it('a payload MessagePack cannot encode is an EncodeError', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => encodeEnvelope({ kind: 'msg', topic: 't', payload: cyclic }, MAX)).toThrow(EncodeError)
  })

  it('remote errors keep name, message and code, never the stack, and are length-limited', () => {
    const error = Object.assign(new RangeError('x'.repeat(5000)), { code: 'E_RANGE' })
    const wire = toWireError(error)
    expect(wire).toEqual({ type: 'handler', name: 'RangeError', message: 'x'.repeat(1024), code: 'E_RANGE' })
    expect(toWireError('plain')).toEqual({ type: 'handler', name: 'Error', message: 'plain' })
  })
})

describe('malformed envelopes are rejected with a reason', () => {
  it('not MessagePack', () => {
    expect(malformed(new Uint8Array([0x93, 1])).reason).toBe('decode')
  })
  it('empty frame', () => {
    expect(malformed(new Uint8Array(0)).reason).toBe('decode')
  })
  it('deeply nested payload (stack exhaustion) is a decode error, not a crash', () => {
    expect(malformed(new Uint8Array(200_000).fill(0x91)).reason).toBe('decode')
  })
  it('not an array', () => {
    expect(malformed(encodeValue({ kind: 1 })).reason).toBe('shape')
  })
  it('too short an array', () => {
    expect(malformed(encodeValue([1, 1, 't', 0])).reason).toBe('shape')
  })
  it('unknown version', () => {
    expect(malformed(encodeValue([2, 1, 't', 0, null])).reason).toBe('version')
  })
  it('ack without a positive integer count, or lane/ack without an id', () => {
    for (const count of [0, -1, 1.5, 'x', null, 2 ** 32]) {
      expect(malformed(encodeValue([1, 8, '', 1, count])).reason).toBe('payload')
    }
    expect(malformed(encodeValue([1, 7, '', 0, null])).reason).toBe('id')
    expect(malformed(encodeValue([1, 8, '', 0, 3])).reason).toBe('id')
  })
  it('unknown kind', () => {
    expect(malformed(encodeValue([1, 9, 't', 0, null])).reason).toBe('kind')
    expect(malformed(encodeValue([1, 'msg', 't', 0, null])).reason).toBe('kind')
  })
  it('topic not a string', () => {
    expect(malformed(encodeValue([1, 1, 42, 0, null])).reason).toBe('topic')
  })
  it('topic too long', () => {
    expect(malformed(encodeValue([1, 1, 'x'.repeat(MAX_TOPIC_LENGTH + 1), 0, null])).reason).toBe('topic')
  })
  it('empty topic on a message or request', () => {
    expect(malformed(encodeValue([1, 1, '', 0, null])).reason).toBe('topic')
    expect(malformed(encodeValue([1, 2, '', 1, null])).reason).toBe('topic')
  })
  it('message with a non-zero id', () => {
    expect(malformed(encodeValue([1, 1, 't', 5, null])).reason).toBe('id')
  })
  it('request id out of range or not an integer', () => {
    for (const id of [0, -1, 1.5, MAX_REQUEST_ID + 1, '1', null]) {
      expect(malformed(encodeValue([1, 2, 't', id, null])).reason).toBe('id')
    }
  })
  it('err payload not a map, or with an unknown type, or without name/message', () => {
    expect(malformed(encodeValue([1, 4, 't', 1, 'boom'])).reason).toBe('payload')
    expect(malformed(encodeValue([1, 4, 't', 1, { type: 'weird', name: 'E', message: 'm' }])).reason).toBe(
      'payload',
    )
    expect(malformed(encodeValue([1, 4, 't', 1, { type: 'handler', name: 3, message: 'm' }])).reason).toBe(
      'payload',
    )
  })
  it('hello payload not a map, or a bad name', () => {
    expect(malformed(encodeValue([1, 0, '', 0, 'x'])).reason).toBe('payload')
    expect(malformed(encodeValue([1, 0, '', 0, { name: 5 }])).reason).toBe('payload')
    expect(malformed(encodeValue([1, 0, '', 0, { name: 'x'.repeat(256) }])).reason).toBe('payload')
    // a terminal escape, a newline, a line separator, a C1 control, a space
    for (const name of [
      'evil\u001b[2J@host',
      'a@host\nfake log line',
      'a@h\u2028x',
      'a\u009b@h',
      'a b@host',
    ]) {
      const error = malformed(encodeValue([1, 0, '', 0, { name }]))
      expect(error.reason).toBe('payload')
      expect(error.message).toMatch(/without whitespace or control characters/)
    }
    // what nodes send: their names, including the default port@localhost of a node on localhost
    for (const name of ['app@box', '4000@127.0.0.1', '4000@[::1]', '4000@localhost', 'ü@höst']) {
      expect(decodeEnvelope(encodeValue([1, 0, '', 0, { name }]))).toEqual({ kind: 'hello', name })
    }
  })
  it('hello with a bad maxMessageSize', () => {
    for (const max of [0, 100, 1.5, 2 ** 33, '4096']) {
      expect(malformed(encodeValue([1, 0, '', 0, { maxMessageSize: max }])).reason).toBe('payload')
    }
  })
  it('ping without a valid id', () => {
    expect(malformed(encodeValue([1, 5, '', 0, null])).reason).toBe('id')
  })
  it('a __proto__ key in a payload does not pollute prototypes', () => {
    const bytes = new Uint8Array([
      0x95,
      1,
      1,
      0xa1,
      0x74,
      0,
      0x81,
      0xa9,
      ...new TextEncoder().encode('__proto__'),
      0x81,
      0xa1,
      0x78,
      1,
    ])
    const out = decodeEnvelope(bytes) as { payload: Record<string, unknown> }
    expect(Object.getPrototypeOf(out.payload)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })
})

// send and request refuse a payload MessagePack would change or drop (a Map, a function, a forgotten
// await, ...) with an EncodeError naming where it is and what to send instead.

import { describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { EncodeError } from '../src/errors.js'
import { checkPayload } from '../src/payload-check.js'

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get norm() {
    return Math.hypot(this.x, this.y)
  }
}

describe('checkPayload', () => {
  it.each([
    [new Map([[1, 2]]), 'payload is a Map: it would arrive as an object with string keys'],
    [{ tags: new Set(['a']) }, 'payload.tags is a Set: it would arrive as an array: send [...set]'],
    [[1, 2, () => 3], 'payload[2] is a function'],
    [{ on: { done() {} } }, 'payload.on.done is a function'],
    [{ id: Symbol('x') }, 'payload.id is a symbol'],
    [
      { rows: [{ v: new Float32Array(2) }] },
      'payload.rows[0].v is a Float32Array: only Uint8Array is sent as bytes',
    ],
    [new DataView(new ArrayBuffer(1)), 'payload is a DataView'],
    [new ArrayBuffer(1), 'payload is an ArrayBuffer: send new Uint8Array(buffer)'],
    [{ error: new TypeError('x') }, 'payload.error is an Error'],
    [/x/, 'payload is a RegExp'],
    [
      { user: Promise.resolve({}) },
      'payload.user is a Promise (or another thenable): did you forget an `await`?',
    ],
    [Object(1), 'payload is a boxed number (new Number(...))'],
    [Object('s'), 'payload is a boxed string (new String(...))'],
    [new WeakMap(), 'payload is a WeakMap'],
  ])('refuses %o', (payload, message) => {
    expect(() => checkPayload(payload)).toThrow(EncodeError)
    expect(() => checkPayload(payload)).toThrow(`payload cannot be encoded as MessagePack: ${message}`)
    // and so does the encoder of a message, a request and an answer
    for (const kind of ['msg', 'req', 'res'] as const) {
      expect(() => encodeEnvelope({ kind, topic: 't', id: 1, payload }, 1 << 20)).toThrow(message)
    }
  })

  it('lets through what arrives as it was sent, class instances as their own properties', () => {
    for (const payload of [
      null,
      undefined,
      0,
      'text',
      10n,
      true,
      new Date(0),
      new Uint8Array(3),
      Buffer.from('x'),
      { a: [1, { b: null }], c: undefined },
      Object.create(null),
      new Point(3, 4),
      [[[[]]]],
    ]) {
      expect(() => checkPayload(payload)).not.toThrow()
    }
  })

  it('walks 64 levels deep, leaving deeper nesting and cycles to the encoder (which throws)', () => {
    let deep: unknown = new Map()
    for (let i = 0; i < 100; i++) deep = { d: deep }
    expect(() => checkPayload(deep)).not.toThrow()
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => checkPayload(cyclic)).not.toThrow()
    expect(() => encodeEnvelope({ kind: 'msg', topic: 't', payload: cyclic }, 1 << 20)).toThrow(EncodeError)
  })
})

// Payload values that MessagePack would change or drop without a word: msgpackr (plain
// MessagePack, no extensions) writes a function as nil, a Map as a map that arrives as an object
// with string keys, a Set, an Error or a RegExp as an array, a Float32Array as its raw bytes, a
// Promise as an empty object (a forgotten `await`), a boxed primitive (`new Number(1)`) as an
// empty object. Sending one is a bug the sender should hear about, not data the receiver silently
// gets wrong; send and request refuse them with the path.

import { EncodeError } from './errors.js'

/** How deep the check walks (a cycle or deeper nesting is left to the encoder, which throws). */
const MAX_DEPTH = 64

/** What to send instead of a value the encoder would change, by kind. */
const INSTEAD: ReadonlyArray<readonly [new (...args: never[]) => unknown, string, string]> = [
  [Map, 'a Map', 'it would arrive as an object with string keys: send Object.fromEntries(map) or [...map]'],
  [Set, 'a Set', 'it would arrive as an array: send [...set]'],
  [WeakMap, 'a WeakMap', 'its entries cannot be read'],
  [WeakSet, 'a WeakSet', 'its entries cannot be read'],
  [Error, 'an Error', 'it would arrive as an array: send { name: error.name, message: error.message }'],
  [RegExp, 'a RegExp', 'it would arrive as an array: send regexp.source and regexp.flags'],
  [ArrayBuffer, 'an ArrayBuffer', 'send new Uint8Array(buffer)'],
]

/**
 * Throws {@link EncodeError} naming the first value of `payload` (path and kind) that MessagePack
 * would change or drop; plain objects, arrays, class instances (as their own properties),
 * strings, numbers, bigints, booleans, `null`, `undefined`, `Date` and `Uint8Array` pass.
 * @internal
 */
export function checkPayload(payload: unknown): void {
  const problem = find(payload, 'payload', 0)
  if (problem !== undefined) {
    throw new EncodeError(`payload cannot be encoded as MessagePack: ${problem[0]} is ${problem[1]}`)
  }
}

function find(value: unknown, path: string, depth: number): [string, string] | undefined {
  switch (typeof value) {
    case 'function':
      return [path, 'a function: functions are not data, and MessagePack would send nil']
    case 'symbol':
      return [path, 'a symbol: MessagePack has no symbols']
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null || depth >= MAX_DEPTH || value instanceof Uint8Array || value instanceof Date) {
    return undefined
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue
      const found = find(item, `${path}[${i}]`, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  const kind = unsupportedKind(value)
  if (kind !== undefined) return [path, kind]
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const item = (value as Record<string, unknown>)[key]
    if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue
    const found = find(item, `${path}.${key}`, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

function unsupportedKind(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return undefined
  if (typeof (value as { then?: unknown }).then === 'function') {
    return 'a Promise (or another thenable): did you forget an `await`? It would arrive as an empty object'
  }
  if (
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean ||
    value instanceof BigInt ||
    value instanceof Symbol
  ) {
    const type = typeof value.valueOf()
    return `a boxed ${type} (new ${value.constructor.name}(...)): it would not arrive as a ${type}; send its primitive value, value.valueOf()`
  }
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name ?? 'typed array'
    return `a ${name}: only Uint8Array is sent as bytes; send new Uint8Array(array.buffer, array.byteOffset, array.byteLength) and rebuild it`
  }
  for (const [type, name, instead] of INSTEAD) {
    if (value instanceof type) return `${name}: ${instead}`
  }
  return undefined
}

// How an unexpected value reads in an error message ("expected a string, got number 5"): its kind
// with a hint of its content, short, and free of control characters, since values from files and
// from the network end up in logs. One describer for every package's messages.

import { escapeControlChars, replaceControlChars } from './text.js'

/** Most keys of an object named. */
const MAX_KEYS = 5
/** Longest key shown in full. */
const MAX_KEY = 24

/**
 * `value` for an error message: `undefined`, `null`, a string in quotes (cut after `maxString`
 * characters, default 60), `number 5`, `an array of 3`, `an empty object`, `an object with keys
 * a, b`, `a Map`, `the function f`. @internal
 */
export function describeValue(value: unknown, options: { maxString?: number } = {}): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string') {
    const max = options.maxString ?? 60
    return quote(value.length > max ? `${value.slice(0, max)}...` : value)
  }
  if (typeof value === 'symbol') return `a symbol ${clean(value.description ?? '')}`.trimEnd()
  if (typeof value !== 'object' && typeof value !== 'function') return `${typeof value} ${String(value)}`
  try {
    return describeObject(value)
  } catch {
    return typeof value === 'function' ? 'a function' : 'an object' // a proxy whose traps throw
  }
}

function describeObject(value: object): string {
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'function')
    return value.name === '' ? 'a function' : `the function ${clean(value.name)}`
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name
    if (typeof name === 'string' && name !== '' && name !== 'Object') {
      return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${clean(name)}`
    }
  }
  const keys: string[] = []
  let more = false
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (keys.length === MAX_KEYS) {
      more = true
      break
    }
    keys.push(clean(key))
  }
  if (keys.length === 0) return 'an empty object'
  return `an object with keys ${keys.join(', ')}${more ? ', ...' : ''}`
}

/** A name from the value, short and without control characters. */
function clean(text: string): string {
  const short = text.length > MAX_KEY ? `${text.slice(0, MAX_KEY)}...` : text
  return replaceControlChars(short, '?')
}

/**
 * `value` quoted for an error message or a log line: its JSON text (a string in double quotes, with
 * C0 controls escaped), with the control characters JSON leaves raw escaped too: DEL and C1 (U+009B
 * starts an escape sequence on terminals that read 8-bit controls) read as `\u` escapes.
 * Nothing is cut: cut long text first. Never throws (what JSON cannot write reads as
 * {@link describeValue} describes it). @internal
 */
export function quote(value: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    json = undefined // a BigInt, a cycle, a throwing toJSON
  }
  if (json === undefined) return describeValue(value)
  return escapeControlChars(json)
}

// Building blocks shared by the `*.fuzz.test.ts` suites (see docs/fuzzing.md): mutations of valid
// inputs (bit flips, truncation, splicing, duplication) for bytes and text, the check that a parser
// threw only its documented error with a useful message, and a loose per-case time bound.
import fc from 'fast-check'

/** One edit of a byte string or text; positions are taken modulo the input's length. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'duplicate'; readonly from: number; readonly length: number; readonly at: number }

/** Byte values that often sit on a parser's edges (length fields, signs, terminators). */
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xc0, 0xfe, 0xff]

/** Any mutation; `insert` adds up to 16 bytes, biased towards edge values. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...EDGE_BYTES), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    from: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    at: fc.nat(),
  }),
)

/** Applies `mutations` in order to a copy of `input`. */
export function mutateBytes(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(input)
  for (const m of mutations) {
    const n = out.byteLength
    switch (m.kind) {
      case 'flip':
        if (n > 0) out[m.at % n]! ^= 1 << m.bit
        break
      case 'set':
        if (n > 0) out[m.at % n] = m.value
        break
      case 'truncate':
        out = out.slice(0, n === 0 ? 0 : m.at % n)
        break
      case 'delete': {
        if (n === 0) break
        const at = m.at % n
        out = concat(out.subarray(0, at), out.subarray(Math.min(n, at + m.length)))
        break
      }
      case 'insert': {
        const at = n === 0 ? 0 : m.at % (n + 1)
        out = concat(out.subarray(0, at), m.bytes, out.subarray(at))
        break
      }
      case 'duplicate': {
        if (n === 0) break
        const from = m.from % n
        const piece = out.subarray(from, Math.min(n, from + m.length))
        const at = m.at % (n + 1)
        out = concat(out.subarray(0, at), piece, out.subarray(at))
        break
      }
    }
  }
  return out
}

/** Valid inputs from `valid`, each with 1 to `max` mutations applied. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>, max = 4): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: max }))
    .map(([bytes, mutations]) => mutateBytes(bytes, mutations))
}

/** Two valid inputs spliced: a prefix of one followed by a suffix of the other. */
export function splicedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, valid, fc.nat(), fc.nat())
    .map(([a, b, i, j]) => concat(a.subarray(0, i % (a.byteLength + 1)), b.subarray(j % (b.byteLength + 1))))
}

/**
 * Text that looks like the format: tokens that matter to JSON and to peer's names and addresses,
 * control and non-BMP characters, lone surrogates.
 */
const TEXT_TOKENS = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '@',
  '.',
  '-',
  '_',
  '/',
  ' ',
  '\n',
  '\t',
  '\u0000',
  '\u007f',
  '\u00e9',
  '\ud83d\ude00',
  '\ud800',
  '\ufeff',
  '0',
  '1',
  '-1',
  '65535',
  '65536',
  '1e999',
  'null',
  'true',
  '[]',
  '{}',
  '"__proto__"',
  '::1',
  '[::1]',
  '127.0.0.1',
]

const textInsert = fc.oneof(fc.constantFrom(...TEXT_TOKENS), fc.string({ maxLength: 8, unit: 'binary' }))

/** One edit of a text. */
export type TextMutation =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'replace'; readonly at: number; readonly length: number; readonly text: string }
  | { readonly kind: 'duplicate'; readonly from: number; readonly length: number; readonly at: number }

/** Any text mutation. */
export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: textInsert }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 4 }),
    text: textInsert,
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    from: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
    at: fc.nat(),
  }),
)

/** Applies `mutations` in order to `input` (positions in UTF-16 code units, modulo the length). */
export function mutateText(input: string, mutations: readonly TextMutation[]): string {
  let out = input
  for (const m of mutations) {
    const n = out.length
    switch (m.kind) {
      case 'truncate':
        out = out.slice(0, n === 0 ? 0 : m.at % n)
        break
      case 'delete': {
        const at = n === 0 ? 0 : m.at % n
        out = out.slice(0, at) + out.slice(at + m.length)
        break
      }
      case 'insert': {
        const at = m.at % (n + 1)
        out = out.slice(0, at) + m.text + out.slice(at)
        break
      }
      case 'replace': {
        const at = m.at % (n + 1)
        out = out.slice(0, at) + m.text + out.slice(at + m.length)
        break
      }
      case 'duplicate': {
        if (n === 0) break
        const from = m.from % n
        const at = m.at % (n + 1)
        out = out.slice(0, at) + out.slice(from, from + m.length) + out.slice(at)
        break
      }
    }
  }
  return out
}

/** Valid texts from `valid`, each with 1 to `max` mutations applied. */
export function mutatedText(valid: fc.Arbitrary<string>, max = 4): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.array(textMutation, { minLength: 1, maxLength: max }))
    .map(([text, mutations]) => mutateText(text, mutations))
}

/**
 * A copy of `doc` (plain JSON data) with the field at `path` (`peers.0.id`) set to `value`
 * (`undefined` removes it from the JSON text); unchanged when the path does not lead to an object.
 */
export function replaceField(doc: unknown, path: string, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>
  const parts = path.split('.')
  let target: Record<string, unknown> = copy
  for (const part of parts.slice(0, -1)) {
    const next = target[part]
    if (typeof next !== 'object' || next === null) return copy
    target = next as Record<string, unknown>
  }
  target[parts.at(-1)!] = value
  return copy
}

/** Valid documents from `valid` with the field at one of `paths` replaced by any JSON value or removed. */
export function fieldReplaced(valid: fc.Arbitrary<unknown>, paths: readonly string[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.constantFrom(...paths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)))
    .map(([doc, path, value]) => replaceField(doc, path, value))
}

/**
 * Asserts that `error` is the parser's documented error: an instance of `errorClass` whose
 * message is a non-trivial string that does not leak an object dump and holds no control
 * character but line breaks (input it quotes is escaped). Returns the error.
 */
export function expectDocumentedError<E extends Error>(
  error: unknown,
  errorClass: abstract new (...args: never[]) => E,
): E {
  if (!(error instanceof errorClass)) {
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    throw new Error(`expected a ${errorClass.name}, got ${shown}`, { cause: error })
  }
  const message = error.message
  if (typeof message !== 'string' || message.length < 8) {
    throw new Error(`${errorClass.name} has no useful message: ${JSON.stringify(message)}`)
  }
  if (message.includes('[object Object]')) {
    throw new Error(`${errorClass.name} message shows an object dump: ${message}`)
  }
  // messages reach logs and terminals: input quoted in them is escaped (a line break may separate
  // the problems a message lists)
  const raw = /[^\P{Cc}\n]/u.exec(message)
  if (raw !== null) {
    const code = raw[0].charCodeAt(0).toString(16).padStart(4, '0')
    throw new Error(
      `${errorClass.name} message holds the control character U+${code}: ${JSON.stringify(message)}`,
    )
  }
  if (error.name !== error.constructor.name) {
    throw new Error(`${errorClass.name} has name ${JSON.stringify(error.name)}`)
  }
  return error
}

/**
 * Runs `parse(input)`; returns its result, or `undefined` after checking that it threw the
 * documented error (see {@link expectDocumentedError}).
 */
export function parseOrDocumentedError<T, E extends Error>(
  parse: () => T,
  errorClass: abstract new (...args: never[]) => E,
): { ok: true; value: T } | { ok: false; error: E } {
  try {
    return { ok: true, value: parse() }
  } catch (error) {
    return { ok: false, error: expectDocumentedError(error, errorClass) }
  }
}

/** Loose per-input time bound of the fuzz suites: catches hangs and blow-ups, not a performance target. */
export const MAX_CASE_MS = 250

/**
 * Runs `run()` and checks it took at most `boundMs`. A slow case is retried twice and fails only if
 * every run was slow, so a GC pause or a busy machine does not fail the suite.
 */
export function withinCaseBound<T>(run: () => T, boundMs = MAX_CASE_MS): T {
  let best = Number.POSITIVE_INFINITY
  let result!: T
  for (let attempt = 0; attempt < 3 && best > boundMs; attempt++) {
    const start = performance.now()
    result = run()
    best = Math.min(best, performance.now() - start)
  }
  if (best > boundMs) throw new Error(`one input took ${best.toFixed(1)} ms (bound ${boundMs} ms)`)
  return result
}

/** {@link withinCaseBound} for an async `run`. */
export async function withinCaseBoundAsync<T>(run: () => Promise<T>, boundMs = MAX_CASE_MS): Promise<T> {
  let best = Number.POSITIVE_INFINITY
  let result!: T
  for (let attempt = 0; attempt < 3 && best > boundMs; attempt++) {
    const start = performance.now()
    result = await run()
    best = Math.min(best, performance.now() - start)
  }
  if (best > boundMs) throw new Error(`one input took ${best.toFixed(1)} ms (bound ${boundMs} ms)`)
  return result
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.byteLength
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

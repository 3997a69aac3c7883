import { describeValue, hasControlChars } from '@peer/discovery-core/internal'
import { Packr } from 'msgpackr'
import { encodeBytesEnvelope, readBytesEnvelope } from './envelope-bytes.js'
import { EncodeError, MalformedEnvelopeError, MessageTooLargeError } from './errors.js'
import { checkPayload } from './payload-check.js'

/** Version written in (and required of) every envelope. */
export const ENVELOPE_VERSION = 1

/** Longest topic accepted, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 256

/** Longest remote error name and message kept from an `err` envelope (longer ones are cut). */
export const MAX_ERROR_TEXT = 1024

/**
 * Smallest `maxMessageSize` a peer may announce, and the smallest `NodeOptions.maxMessageSize` (room
 * for an envelope and a small payload).
 */
export const MIN_MESSAGE_SIZE = 4096

/** Largest request id (ids wrap to 1 after it). */
export const MAX_REQUEST_ID = 0xffff_ffff

/** Envelope kinds and their numbers on the wire. */
export const KIND = { hello: 0, msg: 1, req: 2, res: 3, err: 4, ping: 5, pong: 6, lane: 7, ack: 8 } as const

/** Largest count one `ack` envelope carries. */
export const MAX_ACK_COUNT = 0xffff_ffff

/** An envelope kind. */
export type EnvelopeKind = keyof typeof KIND

const KIND_NAMES: readonly EnvelopeKind[] = [
  'hello',
  'msg',
  'req',
  'res',
  'err',
  'ping',
  'pong',
  'lane',
  'ack',
]

/**
 * Why a request failed on the remote side, as sent in an `err` envelope:
 * `handler` (the handler threw), `no-handler` (no handler for the topic), `stopping` (the
 * remote node is stopping).
 */
export type WireErrorType = 'handler' | 'no-handler' | 'stopping'

/** The payload of an `err` envelope. */
export interface WireError {
  readonly type: WireErrorType
  readonly name: string
  readonly message: string
  readonly code?: string | number | undefined
}

/**
 * A decoded envelope. On the wire every envelope is one MessagePack array
 * `[version, kind, topic, id, payload]`:
 * - `hello` (0): first envelope on a channel; topic `''`, id 0, payload
 *   `{ name?, maxMessageSize?, adopted? }` (`maxMessageSize`: the largest envelope the sender
 *   accepts, the other side sends nothing larger; `adopted: true`, only in a listener's transport
 *   hello: its registry promised to keep this connection, see link-hello.ts);
 * - `msg` (1): fire and forget; id 0;
 * - `req` (2) / `res` (3) / `err` (4): a request, its answer, or its failure (payload `WireError`),
 *   matched by id (1 to {@link MAX_REQUEST_ID});
 * - `ping` (5) / `pong` (6): round-trip measurement; topic `''`, matched by id;
 * - `lane` (7): first envelope on every channel but the first; id = the lane number + 1;
 * - `ack` (8): on the control lane; id = a lane number + 1, payload = how many more `msg`
 *   envelopes received on that lane were handed to handlers (the sender's delivery count).
 */
export type Envelope =
  | {
      readonly kind: 'hello'
      readonly name: string | undefined
      readonly maxMessageSize?: number | undefined
      /** A listener's promise that it keeps this connection (no simultaneous dial of its own wins). */
      readonly adopted?: boolean | undefined
    }
  | { readonly kind: 'msg'; readonly topic: string; readonly payload: unknown }
  | { readonly kind: 'req'; readonly topic: string; readonly id: number; readonly payload: unknown }
  | { readonly kind: 'res'; readonly topic: string; readonly id: number; readonly payload: unknown }
  | { readonly kind: 'err'; readonly topic: string; readonly id: number; readonly error: WireError }
  | { readonly kind: 'ping'; readonly id: number }
  | { readonly kind: 'pong'; readonly id: number }
  | { readonly kind: 'lane'; readonly id: number }
  | { readonly kind: 'ack'; readonly id: number; readonly count: number }

// Plain MessagePack (no record extension: it would make the decoder stateful across messages).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, bundleStrings: false })

/** Encodes any value with the node's MessagePack settings (what `send`/`request` do to payloads). */
export function encodeValue(value: unknown): Uint8Array {
  try {
    return packr.pack(value)
  } catch (error) {
    throw new EncodeError(`payload cannot be encoded as MessagePack: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

/** Decodes one MessagePack value (the inverse of {@link encodeValue}); throws on malformed input. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}

/** Encodes an envelope, checking `maxSize`. Throws {@link EncodeError} or {@link MessageTooLargeError}. */
export function encodeEnvelope(envelope: Envelope, maxSize: number): Uint8Array {
  let bytes = encodeFast(envelope)
  if (bytes === undefined) {
    if (envelope.kind === 'msg' || envelope.kind === 'req' || envelope.kind === 'res') {
      checkPayload(envelope.payload)
    }
    bytes = encodeValue(toWire(envelope))
  }
  if (bytes.byteLength > maxSize) throw new MessageTooLargeError(bytes.byteLength, maxSize)
  return bytes
}

/**
 * A message, request or answer with a byte payload, without the general codec (see
 * envelope-bytes.ts): one allocation of the exact size and one copy of the payload. For large
 * payloads this matters most: MessagePack's encoder grows its shared buffer by allocating four
 * times the message and copying into it, so a 1 MB message meant a fresh 4 MB buffer every few
 * messages, page faults and garbage collection, all in the caller's event-loop turn.
 */
function encodeFast(e: Envelope): Uint8Array | undefined {
  if ((e.kind !== 'msg' && e.kind !== 'req' && e.kind !== 'res') || !(e.payload instanceof Uint8Array)) {
    return undefined
  }
  return encodeBytesEnvelope(ENVELOPE_VERSION, KIND[e.kind], e.topic, e.kind === 'msg' ? 0 : e.id, e.payload)
}

function toWire(e: Envelope): unknown[] {
  const v = ENVELOPE_VERSION
  switch (e.kind) {
    case 'hello': {
      const hello: Record<string, unknown> = {}
      if (e.name !== undefined) hello.name = e.name
      if (e.maxMessageSize !== undefined) hello.maxMessageSize = e.maxMessageSize
      if (e.adopted === true) hello.adopted = true
      return [v, KIND.hello, '', 0, hello]
    }
    case 'msg':
      return [v, KIND.msg, e.topic, 0, e.payload]
    case 'req':
    case 'res':
      return [v, KIND[e.kind], e.topic, e.id, e.payload]
    case 'err': {
      const err: Record<string, unknown> = {
        type: e.error.type,
        name: e.error.name,
        message: e.error.message,
      }
      if (e.error.code !== undefined) err.code = e.error.code
      return [v, KIND.err, e.topic, e.id, err]
    }
    case 'ping':
    case 'pong':
    case 'lane':
      return [v, KIND[e.kind], '', e.id, null]
    case 'ack':
      return [v, KIND.ack, '', e.id, e.count]
  }
}

/**
 * Decodes and validates one frame from a peer. Throws {@link MalformedEnvelopeError} (with a
 * `reason`) for anything that is not a valid envelope; never anything else.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let raw: unknown
  try {
    raw = readBytesEnvelope(bytes) ?? packr.unpack(bytes)
  } catch (error) {
    throw new MalformedEnvelopeError('decode', `not MessagePack: ${(error as Error)?.message}`, {
      cause: error,
    })
  }
  if (!Array.isArray(raw) || raw.length < 5) {
    throw new MalformedEnvelopeError('shape', 'expected an array [version, kind, topic, id, payload]')
  }
  const [version, kindNumber, topic, id, payload] = raw as [unknown, unknown, unknown, unknown, unknown]
  if (version !== ENVELOPE_VERSION) {
    throw new MalformedEnvelopeError('version', `unsupported version ${describe(version)}`)
  }
  const kind = typeof kindNumber === 'number' ? KIND_NAMES[kindNumber] : undefined
  if (kind === undefined) throw new MalformedEnvelopeError('kind', `unknown kind ${describe(kindNumber)}`)
  if (typeof topic !== 'string' || topic.length > MAX_TOPIC_LENGTH) {
    throw new MalformedEnvelopeError(
      'topic',
      `topic must be a string of at most ${MAX_TOPIC_LENGTH} characters`,
    )
  }
  switch (kind) {
    case 'hello': {
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new MalformedEnvelopeError('payload', 'hello payload must be a map')
      }
      const name = (payload as { name?: unknown }).name
      // no whitespace or control characters: the name reaches logs and terminals as it is
      if (
        name !== undefined &&
        (typeof name !== 'string' ||
          name.length === 0 ||
          name.length > 255 ||
          /\s/.test(name) ||
          hasControlChars(name))
      ) {
        throw new MalformedEnvelopeError(
          'payload',
          `hello name must be 1 to 255 characters without whitespace or control characters, got ${describe(name)}`,
        )
      }
      // anything but `true` (absent, or a peer's other value) means no promise
      const adopted = (payload as { adopted?: unknown }).adopted === true ? { adopted: true } : {}
      const max = (payload as { maxMessageSize?: unknown }).maxMessageSize
      if (max === undefined) return { kind, name, ...adopted }
      if (typeof max !== 'number' || !Number.isInteger(max) || max < MIN_MESSAGE_SIZE || max > 0xffff_ffff) {
        throw new MalformedEnvelopeError(
          'payload',
          `hello maxMessageSize must be an integer in ${MIN_MESSAGE_SIZE}-${0xffff_ffff}, got ${describe(max)}`,
        )
      }
      return { kind, name, maxMessageSize: max, ...adopted }
    }
    case 'msg':
      requireTopic(topic)
      if (id !== 0) throw new MalformedEnvelopeError('id', `msg id must be 0, got ${describe(id)}`)
      return { kind, topic, payload }
    case 'req':
      requireTopic(topic)
      return { kind, topic, id: requireId(id), payload }
    case 'res':
      return { kind, topic, id: requireId(id), payload }
    case 'err':
      return { kind, topic, id: requireId(id), error: wireError(payload) }
    case 'ping':
    case 'pong':
    case 'lane':
      return { kind, id: requireId(id) }
    case 'ack':
      if (
        typeof payload !== 'number' ||
        !Number.isInteger(payload) ||
        payload < 1 ||
        payload > MAX_ACK_COUNT
      ) {
        throw new MalformedEnvelopeError(
          'payload',
          `ack count must be an integer in 1-${MAX_ACK_COUNT}, got ${describe(payload)}`,
        )
      }
      return { kind, id: requireId(id), count: payload }
  }
}

function requireTopic(topic: string): void {
  if (topic.length === 0) throw new MalformedEnvelopeError('topic', 'topic is empty')
}

function requireId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_REQUEST_ID) {
    throw new MalformedEnvelopeError(
      'id',
      `id must be an integer in 1-${MAX_REQUEST_ID}, got ${describe(id)}`,
    )
  }
  return id
}

const WIRE_ERROR_TYPES: readonly string[] = ['handler', 'no-handler', 'stopping']

function wireError(payload: unknown): WireError {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new MalformedEnvelopeError('payload', 'err payload must be a map')
  }
  const p = payload as Record<string, unknown>
  if (typeof p.type !== 'string' || !WIRE_ERROR_TYPES.includes(p.type)) {
    throw new MalformedEnvelopeError('payload', `unknown error type ${describe(p.type)}`)
  }
  if (typeof p.name !== 'string' || typeof p.message !== 'string') {
    throw new MalformedEnvelopeError('payload', 'err payload needs string name and message')
  }
  const code = typeof p.code === 'string' || typeof p.code === 'number' ? p.code : undefined
  return {
    type: p.type as WireErrorType,
    name: p.name.slice(0, MAX_ERROR_TEXT) || 'Error',
    message: p.message.slice(0, MAX_ERROR_TEXT),
    ...(code === undefined ? {} : { code: typeof code === 'string' ? code.slice(0, 100) : code }),
  }
}

/** The {@link WireError} describing a thrown value (name, message and code only: never the stack). */
export function toWireError(error: unknown, type: WireErrorType = 'handler'): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      type,
      name: String(error.name || 'Error').slice(0, MAX_ERROR_TEXT),
      message: String(error.message).slice(0, MAX_ERROR_TEXT),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    }
  }
  return { type, name: 'Error', message: String(error).slice(0, MAX_ERROR_TEXT) }
}

/** A value of a peer's envelope for an error message (strings cut short: they come from the wire). */
function describe(value: unknown): string {
  return describeValue(value, { maxString: 40 })
}

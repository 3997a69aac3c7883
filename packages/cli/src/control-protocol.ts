import { quote } from '@peer/discovery-core/internal'

/**
 * The control protocol between `peer start` and `peer status` / `peer services`: line-delimited
 * JSON over a local Unix domain socket. One request per line, one reply per line, in order:
 *
 *   → {"id":1,"method":"status"}
 *   ← {"id":1,"ok":true,"result":{...}}
 *   ← {"id":2,"ok":false,"error":{"name":"BadRequest","message":"..."}}
 *
 * Everything is bounded: a request line is at most {@link MAX_REQUEST_BYTES}, at most
 * {@link MAX_CONTROL_CLIENTS} clients are served at once, an idle client is closed after
 * {@link CONTROL_IDLE_MS}. Bad input gets an error reply (a line too long also closes the
 * connection), never a crash.
 */

/** Version of the protocol; `hello` answers it. */
export const CONTROL_PROTOCOL_VERSION = 1
/** Largest request line in bytes (without the newline). */
export const MAX_REQUEST_BYTES = 4096
/** Clients served at once; more get an error reply and are closed. */
export const MAX_CONTROL_CLIENTS = 8
/** A client that sends nothing for this long is closed (`peer status --watch` asks every interval). */
export const CONTROL_IDLE_MS = 60_000
/** A client that does not read its replies (this many bytes waiting) is closed. */
export const MAX_PENDING_REPLY_BYTES = 4 * 1024 * 1024
/** Methods the server answers. */
export const CONTROL_METHODS = ['hello', 'status', 'services'] as const
/**
 * A method of the protocol. The server of `peer start` ({@link serveStatus}) answers `hello` with
 * the protocol version, the `peer` version, the node id and pid, `status` with a
 * {@link StatusSnapshot} and `services` with a {@link ServicesSnapshot}.
 */
export type ControlMethod = (typeof CONTROL_METHODS)[number]

/** A valid request. */
export interface ControlRequest {
  /** Echoed in the reply: a number or a short string (null when the request gave none). */
  id: number | string | null
  /** The method asked for, one of {@link CONTROL_METHODS}. */
  method: ControlMethod
}

/** Names of the errors a reply can carry. */
export type ControlErrorName = 'BadRequest' | 'UnknownMethod' | 'RequestTooLarge' | 'Busy' | 'InternalError'

/** One reply line. */
export type ControlReply =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: { name: ControlErrorName; message: string } }

/** An error reply. */
export function errorReply(
  id: number | string | null,
  name: ControlErrorName,
  message: string,
): ControlReply {
  return { id, ok: false, error: { name, message } }
}

/**
 * Parses one request line: the request, or the error reply it gets. Never throws, whatever the
 * input (the server fuzz test checks it).
 */
export function parseControlRequest(line: string): ControlRequest | ControlReply {
  if (Buffer.byteLength(line, 'utf8') > MAX_REQUEST_BYTES) {
    return errorReply(null, 'RequestTooLarge', `a request is at most ${MAX_REQUEST_BYTES} bytes`)
  }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return errorReply(null, 'BadRequest', 'a request is one JSON object per line')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return errorReply(null, 'BadRequest', 'a request is a JSON object: {"id":1,"method":"status"}')
  }
  const raw = value as Record<string, unknown>
  const rawId = raw.id
  const id =
    rawId === undefined || rawId === null
      ? null
      : (typeof rawId === 'number' && Number.isFinite(rawId)) ||
          (typeof rawId === 'string' && rawId.length <= 64)
        ? rawId
        : undefined
  if (id === undefined) {
    return errorReply(null, 'BadRequest', 'id must be a number or a string of at most 64 characters')
  }
  if (typeof raw.method !== 'string') return errorReply(id, 'BadRequest', 'method must be a string')
  if (!(CONTROL_METHODS as readonly string[]).includes(raw.method)) {
    return errorReply(
      id,
      'UnknownMethod',
      `unknown method ${quote(raw.method.slice(0, 40))} (methods: ${CONTROL_METHODS.join(', ')})`,
    )
  }
  return { id, method: raw.method as ControlMethod }
}

/** True for a parsed request (not an error reply). */
export function isControlRequest(value: ControlRequest | ControlReply): value is ControlRequest {
  return 'method' in value
}

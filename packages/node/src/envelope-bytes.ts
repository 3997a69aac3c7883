// The envelope array `[version, kind, topic, id, payload]` written and read without the general
// MessagePack codec when the payload is bytes (or nil, or an unsigned integer): the shapes of
// nearly every envelope a busy link carries. Both directions produce or accept plain MessagePack,
// so peers that use the general codec on either side read and write the same envelopes; anything
// else (another payload type, a non-ASCII topic, an unusual encoding) goes through the codec.
// Measured with 64-byte byte payloads: encoding was about half of `send`'s CPU and decoding a sixth
// of the receiver's (msgpackr's per-call work for a five-item array).
import { Buffer } from 'node:buffer'
import { ChunkPool } from '@peer/transport-quic/internal'

/**
 * Envelopes of at least this many bytes are written into recycled buffers. Each fresh one is an
 * external allocation that often outlives a scavenge (it waits for the lane's window, then for
 * the copy into the channel): with 1 MB messages back to back, V8 answered the promoted backing
 * stores with a major collection every few hundred milliseconds. Recycled, the sending process of
 * `pnpm bench node-messaging` made 7 mark-compacts per quick run instead of about 20, and the p99
 * of pings during bulk fell by 40% (docs/benchmarks/transport.md).
 */
const POOLED_BYTES = 64 * 1024
/** A few buffers per size (repeated sizes are the bulk case), 8 MiB in all. */
const pool = new ChunkPool(4, 8 * 1024 * 1024, 8)
/** The buffers taken from `pool` and not given back yet: only these may be recycled. */
const pooled = new WeakSet<Uint8Array>()

function allocate(size: number): Buffer {
  if (size < POOLED_BYTES) return Buffer.allocUnsafe(size)
  const buffer = pool.take(size)
  pooled.add(buffer)
  return buffer
}

/**
 * Gives a large envelope's buffer back for reuse once nothing reads it any more (the channel
 * copied it). Anything not allocated here (small envelopes, the general codec's output) is left
 * alone, and a buffer is recycled at most once.
 */
export function releaseEnvelope(bytes: Uint8Array): void {
  if (bytes.byteLength >= POOLED_BYTES && pooled.delete(bytes)) pool.give(bytes as Buffer)
}

/** Topics whose encoded header is kept, per kind (a bounded cache: cleared when full). */
const MAX_CACHED_TOPICS = 256
/** `fixarray(5), version, kind, topic` per version and kind (`version * 128 + kind`), then topic. */
const heads = new Map<number, Map<string, Buffer>>()

/** MessagePack bytes of `[version, kind, topic]` (an array of five: id and payload follow). */
function headFor(version: number, kind: number, topic: string): Buffer {
  // no key string made per call: a topic passed again is usually the same string, its hash cached
  let byTopic = heads.get(version * 128 + kind)
  if (byTopic === undefined) {
    byTopic = new Map()
    heads.set(version * 128 + kind, byTopic)
  }
  const cached = byTopic.get(topic)
  if (cached !== undefined) return cached
  const text = Buffer.from(topic, 'utf8')
  const n = text.byteLength
  const strHeader = n < 32 ? 1 : n < 0x100 ? 2 : 3
  const head = Buffer.allocUnsafe(3 + strHeader + n)
  head[0] = 0x95
  head[1] = version
  head[2] = kind
  if (n < 32) head[3] = 0xa0 | n
  else if (n < 0x100) {
    head[3] = 0xd9
    head[4] = n
  } else {
    head[3] = 0xda
    head.writeUInt16BE(n, 4)
  }
  text.copy(head, 3 + strHeader)
  if (byTopic.size >= MAX_CACHED_TOPICS) byTopic.clear()
  byTopic.set(topic, head)
  return head
}

const uintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5)

function writeUint(out: Buffer, at: number, v: number): number {
  if (v < 0x80) {
    out[at] = v
    return at + 1
  }
  if (v < 0x100) {
    out[at] = 0xcc
    out[at + 1] = v
    return at + 2
  }
  if (v < 0x10000) {
    out[at] = 0xcd
    out.writeUInt16BE(v, at + 1)
    return at + 3
  }
  out[at] = 0xce
  out.writeUInt32BE(v, at + 1)
  return at + 5
}

/**
 * The envelope with a byte payload as MessagePack, in one allocation; `undefined` when this shape
 * is not for the fast path (the caller uses the general codec). `version` and `kind` are small
 * positive integers, `id` an integer in 0 to 2^32 - 1 and `topic` at most a few hundred characters.
 */
export function encodeBytesEnvelope(
  version: number,
  kind: number,
  topic: string,
  id: number,
  payload: Uint8Array,
): Buffer | undefined {
  if (topic.length > 0x3fff) return undefined
  const head = headFor(version, kind, topic)
  const n = payload.byteLength
  const binHeader = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
  const out = allocate(head.byteLength + uintSize(id) + binHeader + n)
  head.copy(out, 0)
  let at = writeUint(out, head.byteLength, id)
  if (n < 0x100) {
    out[at] = 0xc4
    out[at + 1] = n
  } else if (n < 0x10000) {
    out[at] = 0xc5
    out.writeUInt16BE(n, at + 1)
  } else {
    out[at] = 0xc6
    out.writeUInt32BE(n, at + 1)
  }
  at += binHeader
  out.set(payload, at)
  return out
}

/** The last topic read, and its bytes (most links carry few topics: the string is made once). */
let lastTopic = ''
let lastTopicBytes = Buffer.alloc(0)

/**
 * The five items of an envelope whose topic is ASCII and whose payload is bytes (a view of
 * `bytes`, as the general codec gives), nil or an unsigned integer; `undefined` for any other
 * input, which the caller hands to the general codec (so malformed input gets its usual error).
 */
export function readBytesEnvelope(bytes: Uint8Array): [number, number, string, number, unknown] | undefined {
  const end = bytes.byteLength
  if (end < 5 || bytes[0] !== 0x95) return undefined
  const version = bytes[1] as number
  const kind = bytes[2] as number
  if (version > 0x7f || kind > 0x7f) return undefined
  let at = 3
  const t = bytes[at] as number
  let n: number
  if (t >= 0xa0 && t <= 0xbf) {
    n = t & 0x1f
    at += 1
  } else if (t === 0xd9 && at + 1 < end) {
    n = bytes[at + 1] as number
    at += 2
  } else return undefined
  if (at + n >= end) return undefined
  const topic = topicAt(bytes, at, n)
  if (topic === undefined) return undefined
  at += n
  const id = uintAt(bytes, at, end)
  if (id === undefined) return undefined
  at = id.at
  const p = bytes[at] as number
  let payload: unknown
  if (p === 0xc0 && at + 1 === end) payload = null
  else if (p === 0xc4 || p === 0xc5 || p === 0xc6) {
    const size = p === 0xc4 ? 1 : p === 0xc5 ? 2 : 4
    if (at + 1 + size > end) return undefined
    const length = readBE(bytes, at + 1, size)
    const start = at + 1 + size
    if (start + length !== end) return undefined
    // a view, of the input's own type (what the general codec gives)
    payload = Buffer.isBuffer(bytes)
      ? Buffer.from(bytes.buffer, bytes.byteOffset + start, length)
      : bytes.subarray(start, end)
  } else {
    const value = uintAt(bytes, at, end)
    if (value === undefined || value.at !== end) return undefined
    payload = value.value
  }
  return [version, kind, topic, id.value, payload]
}

function readBE(bytes: Uint8Array, at: number, size: number): number {
  let v = 0
  for (let i = 0; i < size; i++) v = v * 256 + (bytes[at + i] as number)
  return v
}

function uintAt(bytes: Uint8Array, at: number, end: number): { value: number; at: number } | undefined {
  if (at >= end) return undefined
  const b = bytes[at] as number
  if (b < 0x80) return { value: b, at: at + 1 }
  const size = b === 0xcc ? 1 : b === 0xcd ? 2 : b === 0xce ? 4 : 0
  if (size === 0 || at + 1 + size > end) return undefined
  return { value: readBE(bytes, at + 1, size), at: at + 1 + size }
}

/** The ASCII topic of `n` bytes at `at`, or `undefined` when a byte is not ASCII. */
function topicAt(bytes: Uint8Array, at: number, n: number): string | undefined {
  let same = n === lastTopicBytes.byteLength
  for (let i = 0; i < n; i++) {
    const c = bytes[at + i] as number
    if (c > 0x7f) return undefined
    if (same && c !== lastTopicBytes[i]) same = false
  }
  if (same) return lastTopic
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + at, n)
  lastTopic = view.toString('latin1')
  lastTopicBytes = Buffer.from(view)
  return lastTopic
}

import {
  isNodeId,
  type LocalPeer,
  type PeerRecord,
  type PeerRecordLimits,
  parsePeerRecord,
} from '@peer/discovery-core'
import { quote } from '@peer/discovery-core/internal'

/**
 * Version of the JSON value written under `<prefix>/nodes/<id>`. Readers drop (and count) values
 * with another `v`: a future incompatible layout gets a new number, compatible additions do not.
 */
export const NODE_VALUE_VERSION = 1

/** Default largest value accepted, in bytes. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024

/**
 * The value stored under `<prefix>/nodes/<id>` (layout version 1), as JSON:
 *
 * ```json
 * {
 *   "v": 1,
 *   "id": "<52-char node id>",
 *   "name": "app@host",
 *   "addresses": [{ "host": "10.0.0.7", "port": 4000 }],
 *   "meta": { "zone": "a" }
 * }
 * ```
 *
 * - `v` (required): {@link NODE_VALUE_VERSION}.
 * - `id` (required): the node id; must equal the last segment of the key.
 * - `addresses` (required, may be empty): `{ host, port }` objects, most preferred first.
 * - `name` (optional): `name@host` or `port@ip`.
 * - `meta` (optional): an object of short strings.
 *
 * Unknown fields are ignored, so writers may add their own. The key is attached to a lease whose
 * TTL bounds how long a crashed node stays listed.
 */
export interface NodeValue {
  /** The layout version, {@link NODE_VALUE_VERSION}; readers drop (and count) a value with another. */
  v: typeof NODE_VALUE_VERSION
  /** The node id; it must equal the last segment of the key. */
  id: string
  /** The node name (`name@host` or `port@ip`); absent when the node has none. */
  name?: string
  /** Where the node can be reached, most preferred first; may be empty. */
  addresses: Array<{ host: string; port: number }>
  /** The node's metadata, short strings; absent when it has none. */
  meta?: Record<string, string>
}

/** Normalises a user prefix: no trailing slash (`/peer/` -> `/peer`). */
export function normalizePrefix(prefix: string): string {
  let out = prefix
  while (out.endsWith('/')) out = out.slice(0, -1)
  return out
}

/** The key range every node lives under: `<prefix>/nodes/`. */
export function nodesPrefix(prefix: string): string {
  return `${normalizePrefix(prefix)}/nodes/`
}

/** The key of one node: `<prefix>/nodes/<id>`. */
export function nodeKey(prefix: string, id: string): string {
  return `${nodesPrefix(prefix)}${id}`
}

/** Serialises what a node announces into its etcd value. */
export function encodeNodeValue(self: LocalPeer): string {
  const value: NodeValue = {
    v: NODE_VALUE_VERSION,
    id: self.id,
    addresses: self.addresses.map((a) => ({ host: a.host, port: a.port })),
  }
  if (self.name !== undefined) value.name = self.name
  if (self.meta !== undefined) value.meta = { ...self.meta }
  return JSON.stringify(value)
}

/** Result of {@link decodeNodeValue}. */
export type DecodeResult = { ok: true; record: PeerRecord } | { ok: false; reason: string }

/**
 * The node id a key names, or `undefined` when the key is not `<nodesPrefix><node id>`.
 * `keyPrefix` is the value of {@link nodesPrefix}.
 */
export function idFromKey(keyPrefix: string, key: string): string | undefined {
  if (!key.startsWith(keyPrefix)) return undefined
  const id = key.slice(keyPrefix.length)
  return isNodeId(id) ? id : undefined
}

/**
 * Validates a value read from etcd (written by anyone: this package, etcdctl, another language)
 * into a {@link PeerRecord}. Never throws: bad input gives `{ ok: false, reason }`.
 */
export function decodeNodeValue(
  keyPrefix: string,
  key: string,
  value: Uint8Array,
  options: { source: string; maxValueBytes?: number; limits?: Partial<PeerRecordLimits> },
): DecodeResult {
  const id = idFromKey(keyPrefix, key)
  if (id === undefined)
    return { ok: false, reason: `key ${quote(key.slice(0, 120))} does not end in a node id` }
  const max = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES
  if (value.byteLength > max)
    return { ok: false, reason: `value of ${value.byteLength} bytes exceeds ${max}` }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'))
  } catch {
    return { ok: false, reason: 'value is not JSON' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'value is not a JSON object' }
  }
  const obj = parsed as Record<string, unknown>
  if (obj.v !== NODE_VALUE_VERSION) {
    return { ok: false, reason: `unsupported value version ${quote(obj.v)?.slice(0, 20)}` }
  }
  if (obj.id !== id) return { ok: false, reason: 'value id does not match the key' }
  if (!Array.isArray(obj.addresses)) return { ok: false, reason: 'addresses must be an array' }
  const result = parsePeerRecord(
    { id, name: obj.name, addresses: obj.addresses, meta: obj.meta, source: options.source },
    options.limits,
  )
  if (!result.ok) return { ok: false, reason: result.error.message }
  return { ok: true, record: result.record }
}

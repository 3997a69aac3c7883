import { describeValue } from './describe-value.js'
import { InvalidPeerRecordError } from './errors.js'
import { hostProblem, isValidPort, isWildcardHost, undialableHostProblem } from './host.js'
import { isNodeId } from './node-id.js'
import { isNodeName, MAX_NODE_NAME_LENGTH } from './node-name.js'
import {
  decodeServiceList,
  MAX_SERVICE_LIST_LENGTH,
  MAX_SERVICES,
  SERVICES_META_KEY,
} from './service-list.js'
import { hasControlChars } from './text.js'

/** One address a peer may be reached at. */
export interface PeerAddress {
  /** An IP address or a DNS host name; in a validated record an IPv6 address has no brackets. */
  readonly host: string
  /** The port, an integer in 1-65535. */
  readonly port: number
}

/**
 * What a discovery backend knows about a peer. The `id` is what is trusted and pinned; `name` and
 * `addresses` are only hints.
 */
export interface PeerRecord {
  /** Node id: base32 SHA-256 of the peer's public key (see `@peer/identity`). */
  readonly id: string
  /** Node name (`name@host` or `port@ip`), when the backend knows it. */
  readonly name?: string | undefined
  /** Where to dial the peer, most preferred first; may be empty when only the id is known. */
  readonly addresses: readonly PeerAddress[]
  /** Small string metadata (e.g. DNS-SD TXT or etcd value fields). */
  readonly meta?: Readonly<Record<string, string>> | undefined
  /** The backend that reported the record (`static`, `dns`, `mdns`, `etcd`, ...). */
  readonly source: string
  /** Seconds the source says the record stays valid, when it says. */
  readonly ttl?: number | undefined
}

/** What a node announces about itself: a record without `source` and `ttl`. */
export interface LocalPeer {
  /** This node's id: base32 SHA-256 of its public key (see `@peer/identity`). */
  readonly id: string
  /** This node's name (`name@host` or `port@ip`), if it has one. */
  readonly name?: string | undefined
  /** Where other nodes can dial this node, most preferred first; may be empty. */
  readonly addresses: readonly PeerAddress[]
  /** Small string metadata to publish (e.g. the `services` list), if any. */
  readonly meta?: Readonly<Record<string, string>> | undefined
}

/** Size limits applied to records read from the network. */
export interface PeerRecordLimits {
  /** Default 16. */
  maxAddresses: number
  /** Default 32. */
  maxMetaEntries: number
  /** Default 64. */
  maxMetaKeyLength: number
  /** Default 255 (a DNS-SD TXT string minus its key). */
  maxMetaValueLength: number
  /** Default 7 days, in seconds. */
  maxTtl: number
}

/** Default {@link PeerRecordLimits}. */
export const DEFAULT_RECORD_LIMITS: Readonly<PeerRecordLimits> = Object.freeze({
  maxAddresses: 16,
  maxMetaEntries: 32,
  maxMetaKeyLength: 64,
  maxMetaValueLength: 255,
  maxTtl: 7 * 24 * 3600,
})

const SOURCE = /^[a-z0-9][a-z0-9._:-]{0,63}$/
const META_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Validates untrusted input (a parsed packet, file or etcd value) and returns a clean, frozen
 * {@link PeerRecord}. Throws an {@link InvalidPeerRecordError} whose `path` names the bad field,
 * also for an address no peer can be dialed at (see `undialableHostProblem`: the unspecified,
 * multicast and broadcast addresses). Unknown fields are ignored; nothing from the input is kept by
 * reference.
 */
export function validatePeerRecord(input: unknown, limits: Partial<PeerRecordLimits> = {}): PeerRecord {
  return validateRecord(input, limits, false)
}

function validateRecord(
  input: unknown,
  limits: Partial<PeerRecordLimits>,
  allowWildcard: boolean,
): PeerRecord {
  const lim = { ...DEFAULT_RECORD_LIMITS, ...limits }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidPeerRecordError('', `expected an object, got ${describeValue(input)}`)
  }
  const obj = input as Record<string, unknown>

  if (!isNodeId(obj.id)) {
    throw new InvalidPeerRecordError(
      'id',
      `expected a 52-character lowercase base32 node id, got ${describeValue(obj.id)}`,
    )
  }
  const source = obj.source
  if (typeof source !== 'string' || !SOURCE.test(source)) {
    throw new InvalidPeerRecordError(
      'source',
      `expected a short lowercase source label, got ${describeValue(source)}`,
    )
  }

  let name: string | undefined
  if (obj.name !== undefined && obj.name !== null) {
    if (typeof obj.name !== 'string' || obj.name.length > MAX_NODE_NAME_LENGTH || !isNodeName(obj.name)) {
      throw new InvalidPeerRecordError(
        'name',
        `expected a node name like app@host or 4000@10.0.0.1, got ${describeValue(obj.name)}`,
      )
    }
    name = obj.name
  }

  const addresses = validateAddresses(obj.addresses, lim.maxAddresses, allowWildcard)

  let meta: Record<string, string> | undefined
  if (obj.meta !== undefined && obj.meta !== null) {
    if (typeof obj.meta !== 'object' || Array.isArray(obj.meta)) {
      throw new InvalidPeerRecordError(
        'meta',
        `expected an object of strings, got ${describeValue(obj.meta)}`,
      )
    }
    const entries = Object.entries(obj.meta as Record<string, unknown>)
    if (entries.length > lim.maxMetaEntries) {
      throw new InvalidPeerRecordError('meta', `more than ${lim.maxMetaEntries} entries (${entries.length})`)
    }
    meta = Object.create(null) as Record<string, string>
    for (const [key, value] of entries) {
      if (key.length > lim.maxMetaKeyLength || !META_KEY.test(key)) {
        throw new InvalidPeerRecordError(
          `meta.${key.slice(0, 64)}`,
          `keys are 1-${lim.maxMetaKeyLength} of [A-Za-z0-9._-]`,
        )
      }
      if (typeof value !== 'string')
        throw new InvalidPeerRecordError(`meta.${key}`, `expected a string, got ${describeValue(value)}`)
      if (value.length > lim.maxMetaValueLength) {
        throw new InvalidPeerRecordError(`meta.${key}`, `longer than ${lim.maxMetaValueLength} characters`)
      }
      if (hasControlChars(value))
        throw new InvalidPeerRecordError(`meta.${key}`, 'contains control characters')
      meta[key] = value
    }
    Object.freeze(meta)
  }

  let ttl: number | undefined
  if (obj.ttl !== undefined && obj.ttl !== null) {
    if (typeof obj.ttl !== 'number' || !Number.isFinite(obj.ttl) || obj.ttl < 0 || obj.ttl > lim.maxTtl) {
      throw new InvalidPeerRecordError(
        'ttl',
        `expected seconds in 0-${lim.maxTtl}, got ${describeValue(obj.ttl)}`,
      )
    }
    ttl = obj.ttl === 0 ? 0 : obj.ttl // -0 too: a clean record reads the same through JSON
  }

  const record: { -readonly [K in keyof PeerRecord]: PeerRecord[K] } = { id: obj.id, addresses, source }
  if (name !== undefined) record.name = name
  if (meta !== undefined) record.meta = meta
  if (ttl !== undefined) record.ttl = ttl
  return Object.freeze(record)
}

/**
 * Validates what a node announces about itself (a record without `source`; a `ttl` is dropped).
 * Throws an {@link InvalidPeerRecordError}, as {@link validatePeerRecord} does (except that the
 * unspecified address, `0.0.0.0` or `::`, passes: the mDNS backend announces each interface's own
 * addresses for it, and the other announcing backends refuse it), and also for a
 * `meta.services` list its peers would drop (in part or whole, see `decodeServiceList`): more than
 * `MAX_SERVICES` names, longer than `MAX_SERVICE_LIST_LENGTH` characters, or a name that is not a
 * valid service name.
 */
export function validateLocalPeer(input: unknown, limits: Partial<PeerRecordLimits> = {}): LocalPeer {
  return validateSelfOrListed(input, limits, true)
}

/**
 * {@link validateLocalPeer} for a peer listed to be dialed (an entry of a static list): the
 * unspecified address is refused, as in a record from the network. @internal
 */
export function validateListedPeer(input: unknown, limits: Partial<PeerRecordLimits> = {}): LocalPeer {
  return validateSelfOrListed(input, limits, false)
}

function validateSelfOrListed(
  input: unknown,
  limits: Partial<PeerRecordLimits>,
  allowWildcard: boolean,
): LocalPeer {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidPeerRecordError('', `expected an object, got ${describeValue(input)}`)
  }
  const {
    source: _ignored,
    ttl: _ttl,
    ...rest
  } = validateRecord({ ...input, source: 'local' }, limits, allowWildcard)
  if (rest.meta !== undefined && Object.hasOwn(rest.meta, SERVICES_META_KEY)) {
    const { droppedList, droppedNames } = decodeServiceList(rest.meta[SERVICES_META_KEY])
    if (droppedList) {
      throw new InvalidPeerRecordError(
        `meta.${SERVICES_META_KEY}`,
        `more than ${MAX_SERVICES} names or longer than ${MAX_SERVICE_LIST_LENGTH} characters (every peer would drop the list)`,
      )
    }
    if (droppedNames > 0) {
      throw new InvalidPeerRecordError(
        `meta.${SERVICES_META_KEY}`,
        `${droppedNames} invalid service name(s) (peers would drop them): expected comma-separated names like "kv,billing.v2"`,
      )
    }
  }
  return Object.freeze(rest)
}

/**
 * Like {@link validatePeerRecord} but never throws: returns `{ ok: true, record }` for valid input
 * and `{ ok: false, error }` (an {@link InvalidPeerRecordError}) for invalid input.
 */
export function parsePeerRecord(
  input: unknown,
  limits: Partial<PeerRecordLimits> = {},
): { ok: true; record: PeerRecord } | { ok: false; error: InvalidPeerRecordError } {
  try {
    return { ok: true, record: validatePeerRecord(input, limits) }
  } catch (error) {
    if (error instanceof InvalidPeerRecordError) return { ok: false, error }
    return { ok: false, error: new InvalidPeerRecordError('', String(error), { cause: error }) }
  }
}

// `allowWildcard`: the unspecified address passes (in what a node announces: a backend that
// publishes interface addresses, mDNS, reads it as "every interface"; the others refuse it)
function validateAddresses(input: unknown, max: number, allowWildcard: boolean): readonly PeerAddress[] {
  if (input === undefined || input === null) return Object.freeze([])
  if (!Array.isArray(input))
    throw new InvalidPeerRecordError('addresses', `expected an array, got ${describeValue(input)}`)
  if (input.length > max)
    throw new InvalidPeerRecordError('addresses', `more than ${max} addresses (${input.length})`)
  const seen = new Set<string>()
  const out: PeerAddress[] = []
  input.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) {
      throw new InvalidPeerRecordError(
        `addresses[${i}]`,
        `expected { host, port }, got ${describeValue(item)}`,
      )
    }
    const { host, port } = item as Record<string, unknown>
    if (typeof host !== 'string')
      throw new InvalidPeerRecordError(
        `addresses[${i}].host`,
        `expected a string, got ${describeValue(host)}`,
      )
    const problem = hostProblem(host)
    if (problem !== undefined) throw new InvalidPeerRecordError(`addresses[${i}].host`, problem)
    const undialable = allowWildcard && isWildcardHost(host) ? undefined : undialableHostProblem(host)
    if (undialable !== undefined) throw new InvalidPeerRecordError(`addresses[${i}].host`, undialable)
    if (!isValidPort(port))
      throw new InvalidPeerRecordError(
        `addresses[${i}].port`,
        `expected an integer in 1-65535, got ${describeValue(port)}`,
      )
    const clean = host.startsWith('[') ? host.slice(1, -1) : host
    const key = `${clean.toLowerCase()}|${port}`
    if (seen.has(key)) return // duplicates are harmless: drop them
    seen.add(key)
    out.push(Object.freeze({ host: clean, port }))
  })
  return Object.freeze(out)
}

/** True when two records carry the same id, name, addresses, meta and ttl (source ignored). */
export function sameRecord(a: PeerRecord | LocalPeer, b: PeerRecord | LocalPeer): boolean {
  if (a.id !== b.id || a.name !== b.name) return false
  if (('ttl' in a ? a.ttl : undefined) !== ('ttl' in b ? b.ttl : undefined)) return false
  if (a.addresses.length !== b.addresses.length) return false
  for (let i = 0; i < a.addresses.length; i++) {
    if (a.addresses[i]!.host !== b.addresses[i]!.host || a.addresses[i]!.port !== b.addresses[i]!.port)
      return false
  }
  const ma = a.meta ?? {}
  const mb = b.meta ?? {}
  const ka = Object.keys(ma)
  if (ka.length !== Object.keys(mb).length) return false
  return ka.every((k) => ma[k] === mb[k])
}

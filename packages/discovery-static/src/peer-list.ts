import {
  InvalidPeerRecordError,
  type LocalPeer,
  type PeerAddress,
  type PeerRecordLimits,
} from '@peer/discovery-core'
import { quote, validateListedPeer } from '@peer/discovery-core/internal'
import { StaticConfigError } from './errors.js'

/**
 * One peer as written in code, a JSON file or an environment variable. Addresses may be objects or
 * `host:port` strings (`[::1]:4000` for IPv6).
 */
export interface StaticPeer {
  /** The peer's node id (52 characters of lowercase base32). */
  id: string
  /** The peer's node name (`name@host` or `port@ip`), if known. */
  name?: string
  /** Where to dial the peer, most preferred first: `{ host, port }` objects or `host:port` strings. */
  addresses: ReadonlyArray<PeerAddress | string>
  /** Small string metadata, as in a `PeerRecord` (e.g. the `services` list). */
  meta?: Record<string, string>
}

/** The file format: `{ "version": 1, "peers": [...] }`, or just the array of peers. */
export interface StaticPeerFile {
  /** The format version, 1. A file may leave it out; any other value is rejected. */
  version: 1
  /** The peers; ids must be unique. */
  peers: StaticPeer[]
}

/** Largest peer list accepted from a file or an environment variable, in bytes. */
export const MAX_LIST_BYTES = 1024 * 1024

/** Parses `host:port` / `[v6]:port` into an address; `undefined` if it is not of that shape. */
export function parseHostPort(value: string): PeerAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value)
  if (!m) return undefined
  return { host: m[1]!, port: Number(m[2]) }
}

/**
 * Validates a list of peers (all or nothing) and returns clean records by id. Throws a
 * {@link StaticConfigError} naming `where` and the bad entry.
 */
export function validatePeerList(
  input: unknown,
  where: string,
  limits: Partial<PeerRecordLimits> = {},
  maxPeers = 10_000,
): Map<string, LocalPeer> {
  let list: unknown = input
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const file = input as Record<string, unknown>
    if (file.version !== undefined && file.version !== 1) {
      throw new StaticConfigError(where, `unsupported version ${quote(file.version)} (expected 1)`)
    }
    list = file.peers
  }
  if (!Array.isArray(list)) {
    throw new StaticConfigError(where, 'expected an array of peers or { "version": 1, "peers": [...] }')
  }
  if (list.length > maxPeers)
    throw new StaticConfigError(where, `more than ${maxPeers} peers (${list.length})`)
  const out = new Map<string, LocalPeer>()
  list.forEach((entry: unknown, i) => {
    const normalised = normaliseAddresses(entry, where, i)
    try {
      // the file lists peers to dial: the unspecified address (which an announcement may carry) is
      // as wrong here as in any record from the network
      const peer = validateListedPeer(normalised, limits)
      if (out.has(peer.id)) throw new StaticConfigError(where, `peers[${i}]: duplicate id ${peer.id}`)
      out.set(peer.id, peer)
    } catch (error) {
      if (error instanceof InvalidPeerRecordError) {
        // the record error's message is `invalid peer record: <path>: <reason>`; keep the reason
        const prefix = `invalid peer record: ${error.path ? `${error.path}: ` : ''}`
        const reason = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
        throw new StaticConfigError(where, `peers[${i}]${error.path ? `.${error.path}` : ''}: ${reason}`, {
          cause: error,
        })
      }
      throw error
    }
  })
  return out
}

/** Parses JSON text from a file or variable, with size limit and a clear error. */
export function parsePeerListText(
  text: string,
  where: string,
  limits: Partial<PeerRecordLimits> = {},
  maxPeers = 10_000,
): Map<string, LocalPeer> {
  if (Buffer.byteLength(text) > MAX_LIST_BYTES)
    throw new StaticConfigError(where, `larger than ${MAX_LIST_BYTES} bytes`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new StaticConfigError(where, `not valid JSON (${(error as Error).message})`, { cause: error })
  }
  return validatePeerList(json, where, limits, maxPeers)
}

function normaliseAddresses(entry: unknown, where: string, i: number): unknown {
  if (typeof entry !== 'object' || entry === null) return entry
  const addresses = (entry as { addresses?: unknown }).addresses
  if (!Array.isArray(addresses)) return entry
  return {
    ...entry,
    addresses: addresses.map((a: unknown, j) => {
      if (typeof a !== 'string') return a
      const parsed = parseHostPort(a)
      if (!parsed)
        throw new StaticConfigError(where, `peers[${i}].addresses[${j}]: ${quote(a)} is not host:port`)
      return parsed
    }),
  }
}

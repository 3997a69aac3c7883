import { describeValue, quote } from './describe-value.js'
import { InvalidNodeIdError } from './errors.js'

/**
 * Length of a node id: lowercase RFC 4648 base32 (no padding) of the 32-byte SHA-256 digest of
 * the node's SubjectPublicKeyInfo. `@peer/identity` computes ids; this package only checks them.
 */
export const NODE_ID_LENGTH = 52

const NODE_ID = /^[a-z2-7]{51}[aq]$/ // 256 bits: the last character holds 1 data bit and 4 zero bits

/** True when `value` is a well-formed node id. */
export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && value.length === NODE_ID_LENGTH && NODE_ID.test(value)
}

/** Throws an {@link InvalidNodeIdError} saying what is wrong unless `value` is a well-formed node id. */
export function assertNodeId(value: unknown): asserts value is string {
  if (isNodeId(value)) return
  if (typeof value !== 'string')
    throw new InvalidNodeIdError(`node id must be a string, got ${describeValue(value)}`)
  if (value.length !== NODE_ID_LENGTH) {
    throw new InvalidNodeIdError(`node id must be ${NODE_ID_LENGTH} characters, got ${value.length}`)
  }
  const bad = /[^a-z2-7]/.exec(value)
  if (bad) {
    throw new InvalidNodeIdError(
      `node id must be lowercase base32 (a-z, 2-7); found ${quote(bad[0])} at ${bad.index}`,
    )
  }
  throw new InvalidNodeIdError('node id has non-zero padding bits in its last character')
}

/** Shortens an id for logs and tables: the first 8 and the last 4 characters. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}..${id.slice(-4)}` : id
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * Lowercase RFC 4648 base32 without padding: the encoding of node ids. A node id is
 * `encodeBase32(sha256(spki))` (see `@peer/identity`).
 */
export function encodeBase32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff
    bits += 8
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31]
  return out
}

import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'
import { encodeBase32 } from '@peer/discovery-core'
import { IdentityError } from './errors.js'

/** Lowercase RFC 4648 base32 without padding (re-exported from `@peer/discovery-core`). */
export const base32 = encodeBase32

/**
 * The node id of a public key: lowercase base32 (RFC 4648, no padding) of the SHA-256 digest of
 * the key's DER-encoded SubjectPublicKeyInfo. Always 52 characters; stable across key file
 * formats, certificates and restarts; satisfies `isNodeId` from `@peer/discovery-core`.
 *
 * @param key - a public (or private) `KeyObject`, or the DER SubjectPublicKeyInfo bytes
 */
export function nodeIdFromPublicKey(key: KeyObject | Uint8Array): string {
  const spki = key instanceof Uint8Array ? key : spkiOf(key)
  return base32(createHash('sha256').update(spki).digest())
}

/**
 * The node id of the public key inside a certificate (DER bytes or PEM text). Throws an
 * `IdentityError` when the certificate or its public key cannot be decoded.
 */
export function nodeIdFromCertificate(certificate: Uint8Array | string): string {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(typeof certificate === 'string' ? certificate : Buffer.from(certificate))
  } catch (error) {
    throw new IdentityError('the certificate cannot be parsed', { cause: error })
  }
  try {
    return nodeIdFromPublicKey(cert.publicKey)
  } catch (error) {
    throw new IdentityError("the certificate's public key cannot be decoded", { cause: error })
  }
}

/** The DER SubjectPublicKeyInfo of a key (the public half of a private key). */
export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return pub.export({ type: 'spki', format: 'der' })
}

/**
 * Node identities for peer.
 *
 * - `generateIdentity()`: an Ed25519 (default) or P-256 key pair with a self-signed certificate.
 * - Node ids: lowercase base32 (no padding) of SHA-256 over the DER SubjectPublicKeyInfo, 52
 *   characters (`nodeIdFromPublicKey`, `nodeIdFromCertificate`).
 * - Key files: `saveIdentity` / `loadIdentity` (PEM, key mode 0600, clear errors for insecure,
 *   missing, truncated, corrupt and mismatched files).
 * - `TrustList`: the trusted node ids with labels, a JSON file format, and `trust:added` /
 *   `trust:removed` events.
 *
 * @packageDocumentation
 */
export {
  IdentityConfigError,
  IdentityError,
  IdentityMismatchError,
  InsecureKeyFileError,
  KeyFileError,
  TrustListFileError,
  TrustListFullError,
} from './errors.js'
export {
  type GenerateIdentityOptions,
  generateIdentity,
  type Identity,
  identityFromPem,
  KEY_TYPES,
  type KeyType,
  keyTypeOf,
} from './identity.js'
export {
  CERT_FILE_NAME,
  type IdentityPaths,
  identityPaths,
  KEY_FILE_NAME,
  loadIdentity,
  loadOrCreateIdentity,
  MAX_PEM_FILE_BYTES,
  saveIdentity,
} from './key-files.js'
export { base32, nodeIdFromCertificate, nodeIdFromPublicKey, spkiOf } from './node-id.js'
export {
  MAX_LABEL_LENGTH,
  MAX_TRUST_FILE_BYTES,
  TRUST_FILE_VERSION,
  type TrustChangeDetail,
  type TrustEntry,
  TrustList,
  type TrustListEvents,
  type TrustListOptions,
} from './trust-list.js'

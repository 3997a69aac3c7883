// The libp2p TLS certificate scheme, which both engines speak so that they share one wire: each
// side presents a self-signed certificate for an ephemeral P-256 key whose only critical extension
// (OID 1.3.6.1.4.1.53594.1.1) carries the host (identity) public key, as a libp2p protobuf, and the
// host key's signature over "libp2p-tls-handshake:" + the certificate's SubjectPublicKeyInfo DER.
// The node id stays what it always was: base32(SHA-256(SPKI DER of the identity public key)).
import 'reflect-metadata'
import {
  createHash,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
  webcrypto,
  X509Certificate,
} from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { BoundedMap, errorMessage } from '@peer/discovery-core/internal'
import { base32, type Identity } from '@peer/identity'
import { TransportError } from './errors.js'

/** The libp2p TLS extension's OID. */
export const LIBP2P_EXTENSION_OID = '1.3.6.1.4.1.53594.1.1'
/** ALPN of the shared wire (the libp2p TLS scheme requires it). */
export const LIBP2P_ALPN = 'libp2p'
const SIGNATURE_PREFIX = Buffer.from('libp2p-tls-handshake:')
/** libp2p protobuf `KeyType` values. */
const KEY_TYPE = { Ed25519: 1, ECDSA: 3 } as const
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** A certificate that failed libp2p TLS verification. */
export class Libp2pCertificateError extends TransportError {}

// ------------------------------------------------------------------------------ tiny encoders

function varint(n: number): Buffer {
  const out: number[] = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Buffer.from(out)
}

/** libp2p protobuf `{ Type: 1 (varint), Data: 2 (bytes) }` for a public or private key. */
function keyProto(type: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(0x08), varint(type), Buffer.of(0x12), varint(data.byteLength), data])
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}
const tlv = (tag: number, body: Uint8Array): Buffer =>
  Buffer.concat([Buffer.of(tag), derLength(body.byteLength), body])

// ------------------------------------------------------------------------------ tiny decoders

function readProtoKey(bytes: Uint8Array): { type: number; data: Buffer } {
  const b = Buffer.from(bytes)
  let at = 0
  let type: number | undefined
  let data: Buffer | undefined
  const readVarint = (): number => {
    let value = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      const byte = b[at++]
      if (byte === undefined) throw new Libp2pCertificateError('truncated key protobuf')
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
      shift += 7
    }
    throw new Libp2pCertificateError('bad varint in key protobuf')
  }
  while (at < b.byteLength) {
    const tag = readVarint()
    if (tag === 0x08) type = readVarint()
    else if (tag === 0x12) {
      const len = readVarint()
      if (at + len > b.byteLength) throw new Libp2pCertificateError('truncated key protobuf')
      data = b.subarray(at, at + len)
      at += len
    } else throw new Libp2pCertificateError(`unexpected field ${tag} in key protobuf`)
  }
  if (type === undefined || data === undefined) throw new Libp2pCertificateError('incomplete key protobuf')
  return { type, data }
}

function readTlv(b: Buffer, at: number, tag: number): { body: Buffer; end: number } {
  if (b[at] !== tag) throw new Libp2pCertificateError('malformed SignedKey')
  let len = b[at + 1] ?? 0
  let p = at + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n > 3) throw new Libp2pCertificateError('malformed SignedKey')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + (b[p++] ?? 0)
  }
  if (p + len > b.byteLength) throw new Libp2pCertificateError('truncated SignedKey')
  return { body: b.subarray(p, p + len), end: p + len }
}

// ------------------------------------------------------------------------------ host keys

/** SPKI DER of a host public key given as a libp2p protobuf (Ed25519 or ECDSA). */
export function hostSpkiFromProto(proto: Uint8Array): Buffer {
  return hostKeyFromProto(proto).spki
}

/**
 * A host public key given as a libp2p protobuf: its SPKI DER, and the key itself when decoding
 * checked it already (ECDSA), so that a verification does not decode it again.
 */
function hostKeyFromProto(proto: Uint8Array): { spki: Buffer; key?: KeyObject } {
  const { type, data } = readProtoKey(proto)
  if (type === KEY_TYPE.Ed25519) {
    if (data.byteLength !== 32) throw new Libp2pCertificateError('Ed25519 host key must be 32 bytes')
    return { spki: Buffer.concat([ED25519_SPKI_PREFIX, data]) }
  }
  if (type === KEY_TYPE.ECDSA) {
    // libp2p ECDSA keys are already SPKI DER: it must decode as an EC public key
    let key: KeyObject
    try {
      key = createPublicKey({ key: Buffer.from(data), format: 'der', type: 'spki' })
    } catch (error) {
      throw new Libp2pCertificateError(`ECDSA host key is not a public key: ${errorMessage(error)}`, {
        cause: error,
      })
    }
    if (key.asymmetricKeyType !== 'ec') {
      throw new Libp2pCertificateError(`ECDSA host key is a ${key.asymmetricKeyType} key`)
    }
    return { spki: Buffer.from(data), key }
  }
  throw new Libp2pCertificateError(`unsupported host key type ${type} (Ed25519 and ECDSA only)`)
}

/** The libp2p protobuf of an identity's public key. */
export function publicKeyProto(identity: Identity): Buffer {
  const spki = identity.publicKey.export({ type: 'spki', format: 'der' })
  if (identity.keyType === 'ed25519')
    return keyProto(KEY_TYPE.Ed25519, spki.subarray(ED25519_SPKI_PREFIX.length))
  return keyProto(KEY_TYPE.ECDSA, spki)
}

/** The libp2p protobuf of an Ed25519 identity's private key (seed + public key), for quinn. */
export function privateKeyProto(identity: Identity): Buffer {
  if (identity.keyType !== 'ed25519') {
    throw new TransportError(`the quinn engine needs an Ed25519 identity, not ${identity.keyType}`)
  }
  const jwk = identity.privateKey.export({ format: 'jwk' })
  const seed = Buffer.from(jwk.d ?? '', 'base64url')
  const pub = Buffer.from(jwk.x ?? '', 'base64url')
  return keyProto(KEY_TYPE.Ed25519, Buffer.concat([seed, pub]))
}

const nodeIdOfSpki = (spki: Uint8Array): string => base32(createHash('sha256').update(spki).digest())

function signWith(key: KeyObject, data: Buffer): Buffer {
  // Ed25519 signs the message itself; ECDSA signatures are DER over SHA-256, as libp2p expects
  return key.asymmetricKeyType === 'ed25519' ? sign(null, data, key) : sign('sha256', data, key)
}

function verifyWith(spkiOrKey: Buffer | KeyObject, data: Buffer, signature: Buffer): boolean {
  const key = Buffer.isBuffer(spkiOrKey)
    ? createPublicKey({ key: spkiOrKey, format: 'der', type: 'spki' })
    : spkiOrKey
  return key.asymmetricKeyType === 'ed25519'
    ? verify(null, data, key, signature)
    : verify('sha256', data, key, signature)
}

// ------------------------------------------------------------------------------ peer ids

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58Decode(text: string): Buffer {
  let n = 0n
  for (const ch of text) {
    const v = BASE58.indexOf(ch)
    if (v < 0) throw new Libp2pCertificateError(`bad base58 character in peer id ${text}`)
    n = n * 58n + BigInt(v)
  }
  const bytes: number[] = []
  while (n > 0n) {
    bytes.unshift(Number(n % 256n))
    n /= 256n
  }
  for (const ch of text) {
    if (ch !== '1') break
    bytes.unshift(0)
  }
  return Buffer.from(bytes)
}

/**
 * The node id behind a libp2p peer id (base58 `12D3KooW...`): an identity multihash of the host
 * key protobuf, which Ed25519 ids are. Hashed peer ids (RSA) carry no key and are refused.
 */
export function nodeIdFromPeerId(peerId: string): string {
  const known = peerIdCache.get(peerId)
  if (known !== undefined) return known
  const id = decodePeerId(peerId)
  // pure and asked once per connection for a handful of peers: keep the last few hundred
  peerIdCache.set(peerId, id)
  return id
}

/** Peer id -> node id, most recent last (the decode is BigInt base58 plus a SHA-256). */
const peerIdCache = new BoundedMap<string, string>(512)

function decodePeerId(peerId: string): string {
  const mh = base58Decode(peerId)
  if (mh[0] !== 0x00 || mh[1] !== mh.byteLength - 2) {
    throw new Libp2pCertificateError(`peer id ${peerId} does not inline its public key`)
  }
  return nodeIdOfSpki(hostSpkiFromProto(mh.subarray(2)))
}

// ------------------------------------------------------------------------------ certificates

/** A libp2p TLS certificate and its ephemeral key, as PEM for the TLS stack. */
export interface Libp2pCertificate {
  keyPem: string
  certPem: string
  der: Uint8Array
}

const certificates = new WeakMap<Identity, Promise<Libp2pCertificate>>()
/** The subject of the certificates this package makes (quinn's are made by rust-libp2p). */
const OWN_SUBJECT = 'CN=peer'

/** Whether a peer's leaf certificate was made by this package (the peer runs the matrixai engine). */
export function isOwnCertificate(certs: readonly Uint8Array[]): boolean {
  const leaf = certs[0]
  if (leaf === undefined) return false
  try {
    return new X509Certificate(Buffer.from(leaf)).subject === OWN_SUBJECT
  } catch {
    return false
  }
}
let providerSet = false

/**
 * The libp2p certificate this process presents for `identity` (made once per identity: an
 * ephemeral P-256 key, valid for a year, signed over by the identity key).
 */
export function libp2pCertificate(identity: Identity): Promise<Libp2pCertificate> {
  let cert = certificates.get(identity)
  if (cert === undefined) {
    cert = makeCertificate(identity)
    certificates.set(identity, cert)
    cert.catch(() => certificates.delete(identity))
  }
  return cert
}

/**
 * @internal Makes a fresh certificate. `signedSpki` replaces the certificate SPKI the host key
 * signs over (tests use it to make a certificate whose extension signature is wrong).
 */
export async function makeCertificate(
  identity: Identity,
  options: { signedSpki?: Uint8Array } = {},
): Promise<Libp2pCertificate> {
  if (!providerSet) {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto)
    providerSet = true
  }
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey))
  const signature = signWith(
    identity.privateKey,
    Buffer.concat([SIGNATURE_PREFIX, options.signedSpki ?? spki]),
  )
  const signedKey = tlv(0x30, Buffer.concat([tlv(0x04, publicKeyProto(identity)), tlv(0x04, signature)]))
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: OWN_SUBJECT,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 365 * 86_400_000),
    signingAlgorithm: algorithm,
    keys,
    // the only extension, and critical: quinn refuses any other critical extension
    extensions: [new x509.Extension(LIBP2P_EXTENSION_OID, true, new Uint8Array(signedKey))],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const b64 = pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')
  return {
    keyPem: `-----BEGIN PRIVATE KEY-----\n${b64.replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`,
    certPem: `${cert.toString('pem')}\n`,
    der: new Uint8Array(cert.rawData),
  }
}

/**
 * Verifies a peer's libp2p certificate (DER) and returns the node id of its host key. Throws
 * {@link Libp2pCertificateError} when the certificate is expired, not self-signed, has no (or
 * another) critical extension, or the host key's signature does not cover the certificate key.
 */
export function verifyLibp2pCertificate(der: Uint8Array): string {
  let cert: X509Certificate
  let parsed: x509.X509Certificate
  try {
    cert = new X509Certificate(Buffer.from(der))
    parsed = new x509.X509Certificate(Buffer.from(der))
  } catch (error) {
    throw new Libp2pCertificateError('unparsable certificate', { cause: error })
  }
  // the parsers read the first DER object and ignore the rest: a certificate is exactly one
  if (cert.raw.byteLength !== der.byteLength) {
    throw new Libp2pCertificateError(
      `${der.byteLength - cert.raw.byteLength} bytes after the certificate's end (a certificate is one DER object)`,
    )
  }
  const now = Date.now()
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
    throw new Libp2pCertificateError('certificate outside its validity period')
  }
  // the key and the signature algorithm come from the peer: OpenSSL refuses what it cannot decode
  let certKey: KeyObject
  let selfSigned: boolean
  try {
    certKey = cert.publicKey
    selfSigned = cert.verify(certKey)
  } catch (error) {
    throw new Libp2pCertificateError(`unusable certificate key: ${errorMessage(error)}`, { cause: error })
  }
  if (!selfSigned) throw new Libp2pCertificateError('certificate is not self-signed')
  const extensions = parsed.extensions.filter((e) => e.type === LIBP2P_EXTENSION_OID)
  if (extensions.length !== 1) {
    throw new Libp2pCertificateError(`expected one libp2p extension, found ${extensions.length}`)
  }
  for (const e of parsed.extensions) {
    if (e.critical && e.type !== LIBP2P_EXTENSION_OID) {
      throw new Libp2pCertificateError(`unknown critical extension ${e.type}`)
    }
  }
  const value = Buffer.from((extensions[0] as x509.Extension).value)
  const seq = readTlv(value, 0, 0x30)
  const key = readTlv(seq.body, 0, 0x04)
  const sig = readTlv(seq.body, key.end, 0x04)
  const host = hostKeyFromProto(key.body)
  const certSpki = certKey.export({ type: 'spki', format: 'der' })
  let valid = false
  try {
    valid = verifyWith(host.key ?? host.spki, Buffer.concat([SIGNATURE_PREFIX, certSpki]), sig.body)
  } catch (error) {
    throw new Libp2pCertificateError('bad host key in the libp2p extension', { cause: error })
  }
  if (!valid) throw new Libp2pCertificateError('the libp2p extension signature is invalid')
  return nodeIdOfSpki(host.spki)
}

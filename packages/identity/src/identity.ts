import 'reflect-metadata'
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { throwIfAborted } from '@peer/discovery-core'
import { IdentityConfigError, IdentityError, IdentityMismatchError } from './errors.js'
import { nodeIdFromPublicKey } from './node-id.js'

/** Supported key types: Ed25519 (the default) and ECDSA over P-256. */
export type KeyType = 'ed25519' | 'p256'

/** The key types, for validation and help texts. */
export const KEY_TYPES: readonly KeyType[] = ['ed25519', 'p256']

/**
 * A node identity: a key pair, a self-signed certificate over its public key, and the node id
 * derived from that public key. Immutable. The PEM fields are what TLS stacks consume.
 */
export interface Identity {
  /** The node id: see {@link nodeIdFromPublicKey}. */
  readonly id: string
  /** The key type: `ed25519` or `p256`. */
  readonly keyType: KeyType
  /** The private key. Secret: never log it. */
  readonly privateKey: KeyObject
  /** The public key, from which the node id is derived. */
  readonly publicKey: KeyObject
  /** PKCS #8 PEM of the private key. Secret: never log it. */
  readonly privateKeyPem: string
  /** PEM of the self-signed X.509 certificate. */
  readonly certificatePem: string
  /** DER of the same certificate. */
  readonly certificateDer: Uint8Array
  /** End of the certificate's validity period (peers pin the id, not the validity). */
  readonly notAfter: Date
}

/** Options of {@link generateIdentity}. */
export interface GenerateIdentityOptions {
  /** Key type. Default `ed25519`. */
  keyType?: KeyType
  /** Certificate validity in days from now, a positive number. Default 3650 (ten years). */
  validityDays?: number
  /** Cancels the generation: the call rejects with an `AbortError`. */
  signal?: AbortSignal | undefined
}

const ALGORITHMS = {
  ed25519: { name: 'Ed25519' },
  p256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
} as const

let providerSet = false
function provider(): void {
  if (providerSet) return
  x509.cryptoProvider.set(webcrypto as unknown as Crypto)
  providerSet = true
}

/**
 * Generates a fresh key pair and a self-signed certificate for it. The certificate's subject is
 * `CN=<node id>`; it carries key usage `digitalSignature` and extended key usages `serverAuth`
 * and `clientAuth`, so it can be presented by both ends of a mutual TLS handshake. Rejects with
 * {@link IdentityConfigError} for an unknown `keyType` or a `validityDays` that is not a positive
 * number, and with an `AbortError` when `signal` aborts.
 */
export async function generateIdentity(options: GenerateIdentityOptions = {}): Promise<Identity> {
  const keyType = options.keyType ?? 'ed25519'
  const algorithm = ALGORITHMS[keyType]
  if (algorithm === undefined) {
    throw new IdentityConfigError(
      `unsupported key type ${JSON.stringify(keyType)}; use one of ${KEY_TYPES.join(', ')}`,
    )
  }
  const validityDays = options.validityDays ?? 3650
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new IdentityConfigError(`validityDays must be a positive number, got ${validityDays}`, {
      option: 'validityDays',
    })
  }
  throwIfAborted(options.signal)
  provider()
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair
  const privateKey = createPrivateKey({
    key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    format: 'der',
    type: 'pkcs8',
  })
  const id = nodeIdFromPublicKey(privateKey)
  const notBefore = new Date(Date.now() - 60 * 60 * 1000) // tolerate clock skew
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    // positive 64-bit serial
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: `CN=${id}`,
    notBefore,
    notAfter: new Date(Date.now() + validityDays * 86_400_000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    ],
  })
  throwIfAborted(options.signal)
  return identityFromKeyAndCertificate(privateKey, new X509Certificate(Buffer.from(cert.rawData)))
}

/**
 * Builds an identity from PEM text (as written by `saveIdentity`), checking that the certificate
 * belongs to the key. Throws {@link IdentityMismatchError} when it does not, and an
 * {@link IdentityError} for unparsable input, an unsupported key type or a certificate whose
 * signature is not its own key's.
 */
export function identityFromPem(pem: { privateKeyPem: string; certificatePem: string }): Identity {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: pem.privateKeyPem, format: 'pem' })
  } catch (error) {
    throw new IdentityError('the private key PEM cannot be parsed', { cause: error })
  }
  let cert: X509Certificate
  try {
    cert = new X509Certificate(pem.certificatePem)
  } catch (error) {
    throw new IdentityError('the certificate PEM cannot be parsed', { cause: error })
  }
  return identityFromKeyAndCertificate(privateKey, cert)
}

/** @internal Shared by generation, PEM parsing and key file loading. */
export function identityFromKeyAndCertificate(privateKey: KeyObject, cert: X509Certificate): Identity {
  const keyType = keyTypeOf(privateKey)
  const publicKey = createPublicKey(privateKey)
  const id = nodeIdFromPublicKey(publicKey)
  const certificateKey = certificatePublicKey(cert)
  const certificateId = nodeIdFromPublicKey(certificateKey)
  if (certificateId !== id || !cert.checkPrivateKey(privateKey)) {
    throw new IdentityMismatchError('the certificate does not belong to the private key', id, certificateId)
  }
  if (!cert.verify(certificateKey)) {
    throw new IdentityError('the certificate is not self-signed by its key (bad signature)')
  }
  return Object.freeze({
    id,
    keyType,
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: cert.toString(),
    certificateDer: new Uint8Array(cert.raw),
    notAfter: new Date(cert.validTo),
  })
}

/**
 * @internal The public key of a certificate. A certificate can parse while its key does not decode
 * (e.g. an EC point off the curve): that is an {@link IdentityError}, not an OpenSSL error.
 */
export function certificatePublicKey(cert: X509Certificate): KeyObject {
  try {
    return cert.publicKey
  } catch (error) {
    throw new IdentityError("the certificate's public key cannot be decoded", { cause: error })
  }
}

/** The {@link KeyType} of a key, or an {@link IdentityError} for any other kind of key. */
export function keyTypeOf(key: KeyObject): KeyType {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'p256'
  const detail = key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''
  throw new IdentityError(
    `unsupported key type ${key.asymmetricKeyType ?? key.type}${detail}; use one of ${KEY_TYPES.join(', ')}`,
  )
}

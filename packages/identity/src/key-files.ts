import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type AbortOptions, abortErrorFor, throwIfAborted } from '@peer/discovery-core'
import { writeFileAtomic } from '@peer/discovery-core/internal'
import { InsecureKeyFileError, KeyFileError } from './errors.js'
import {
  certificatePublicKey,
  type GenerateIdentityOptions,
  generateIdentity,
  type Identity,
  identityFromKeyAndCertificate,
} from './identity.js'

/** Where an identity lives on disk: a private key file and a certificate file, both PEM. */
export interface IdentityPaths {
  /** PKCS #8 PEM private key, mode 0600. */
  keyFile: string
  /** PEM certificate, mode 0644. */
  certFile: string
}

/** File names used when a directory is given instead of {@link IdentityPaths}. */
export const KEY_FILE_NAME = 'node.key'
/** File name of the certificate inside an identity directory. */
export const CERT_FILE_NAME = 'node.crt'

/** Largest key or certificate file accepted (they are a few hundred bytes). */
export const MAX_PEM_FILE_BYTES = 64 * 1024

/** Resolves a directory (holding `node.key` and `node.crt`) or explicit paths to {@link IdentityPaths}. */
export function identityPaths(location: string | IdentityPaths): IdentityPaths {
  return typeof location === 'string'
    ? { keyFile: join(location, KEY_FILE_NAME), certFile: join(location, CERT_FILE_NAME) }
    : location
}

/**
 * Writes the private key (mode 0600) and the certificate (mode 0644) as PEM. Each file is written
 * to a temporary name in the same directory and renamed into place, so a crash never leaves a
 * truncated key behind. Parent directories are created (mode 0700). Rejects with
 * {@link KeyFileError} when a file cannot be written, or with an `AbortError` when `signal` aborts.
 */
export async function saveIdentity(
  identity: Identity,
  location: string | IdentityPaths,
  options: AbortOptions = {},
): Promise<IdentityPaths> {
  const paths = identityPaths(location)
  await writeAtomic(paths.keyFile, identity.privateKeyPem, 0o600, options.signal)
  await writeAtomic(paths.certFile, identity.certificatePem, 0o644, options.signal)
  return paths
}

/**
 * Loads an identity written by {@link saveIdentity} (or by any tool writing PKCS #8 / SEC1 PEM
 * keys and PEM certificates). Fails with:
 * - {@link InsecureKeyFileError} when the key file is accessible by group or others;
 * - {@link KeyFileError} when a file is missing, empty, too large, truncated, corrupt or holds the
 *   wrong kind of PEM block;
 * - `IdentityMismatchError` when the certificate does not belong to the key;
 * - `IdentityError` for an unsupported key type, or a certificate not signed by its own key;
 * - `AbortError` when `signal` aborts.
 */
export async function loadIdentity(
  location: string | IdentityPaths,
  options: AbortOptions = {},
): Promise<Identity> {
  const paths = identityPaths(location)
  const keyText = await readPemFile(paths.keyFile, 'private key', true, options.signal)
  const privateKey = parsePrivateKey(paths.keyFile, keyText)
  const certText = await readPemFile(paths.certFile, 'certificate', false, options.signal)
  const cert = parseCertificate(paths.certFile, certText)
  return identityFromKeyAndCertificate(privateKey, cert)
}

/**
 * Loads the identity at `location`, or generates and saves a new one when neither file exists.
 * When only one of the two files exists, it fails rather than overwrite it. `options.signal`
 * cancels it (`AbortError`).
 */
export async function loadOrCreateIdentity(
  location: string | IdentityPaths,
  options: GenerateIdentityOptions = {},
): Promise<{ identity: Identity; created: boolean }> {
  const paths = identityPaths(location)
  throwIfAborted(options.signal)
  const [hasKey, hasCert] = await Promise.all([exists(paths.keyFile), exists(paths.certFile)])
  if (hasKey || hasCert) {
    if (!hasKey)
      throw new KeyFileError(
        paths.keyFile,
        `private key file is missing (certificate ${paths.certFile} exists)`,
      )
    if (!hasCert)
      throw new KeyFileError(paths.certFile, `certificate file is missing (key ${paths.keyFile} exists)`)
    return { identity: await loadIdentity(paths, { signal: options.signal }), created: false }
  }
  const identity = await generateIdentity(options)
  await saveIdentity(identity, paths, { signal: options.signal })
  return { identity, created: true }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new KeyFileError(path, 'cannot be checked', { cause: error })
  }
}

async function readPemFile(
  path: string,
  what: string,
  secret: boolean,
  signal: AbortSignal | undefined,
): Promise<string> {
  throwIfAborted(signal)
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? `${what} file does not exist` : `${what} file cannot be read (${code})`
    throw new KeyFileError(path, reason, { cause: error })
  }
  if (!info.isFile()) throw new KeyFileError(path, `${what} file is not a regular file`)
  if (secret && (info.mode & 0o077) !== 0) throw new InsecureKeyFileError(path, info.mode)
  if (info.size === 0) throw new KeyFileError(path, `${what} file is empty`)
  if (info.size > MAX_PEM_FILE_BYTES) {
    throw new KeyFileError(
      path,
      `${what} file is too large (${info.size} bytes, at most ${MAX_PEM_FILE_BYTES})`,
    )
  }
  try {
    return await readFile(path, { encoding: 'utf8', signal })
  } catch (error) {
    if (signal?.aborted) throw abortErrorFor(signal)
    throw new KeyFileError(path, `${what} file cannot be read`, { cause: error })
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)(?:-----END \1-----|$)/g

/** Checks the PEM framing first, so truncated and wrong-kind files get a specific message. */
function pemBlock(path: string, text: string, what: string, labels: readonly string[]): string {
  const blocks = [...text.matchAll(PEM_BLOCK)]
  if (blocks.length === 0) throw new KeyFileError(path, `${what} file holds no PEM block (is it a PEM file?)`)
  const block = blocks.find((b) => labels.includes(b[1] ?? ''))
  if (block === undefined) {
    const found = blocks.map((b) => b[1]).join(', ')
    throw new KeyFileError(path, `${what} file holds ${found} instead of ${labels.join(' or ')}`)
  }
  if (!block[0].endsWith(`-----END ${block[1]}-----`)) {
    throw new KeyFileError(path, `${what} file is truncated (no "-----END ${block[1]}-----" line)`)
  }
  return block[0]
}

function parsePrivateKey(path: string, text: string): KeyObject {
  if (text.includes('ENCRYPTED PRIVATE KEY')) {
    throw new KeyFileError(path, 'private key file is encrypted; peer needs an unencrypted PKCS #8 key')
  }
  const pem = pemBlock(path, text, 'private key', ['PRIVATE KEY', 'EC PRIVATE KEY'])
  try {
    return createPrivateKey({ key: pem, format: 'pem' })
  } catch (error) {
    throw new KeyFileError(path, 'private key file is corrupt (cannot be decoded)', { cause: error })
  }
}

function parseCertificate(path: string, text: string): X509Certificate {
  const pem = pemBlock(path, text, 'certificate', ['CERTIFICATE'])
  let cert: X509Certificate
  try {
    cert = new X509Certificate(pem)
  } catch (error) {
    throw new KeyFileError(path, 'certificate file is corrupt (cannot be decoded)', { cause: error })
  }
  try {
    certificatePublicKey(cert)
  } catch (error) {
    throw new KeyFileError(path, 'certificate file is corrupt (its public key cannot be decoded)', {
      cause: error,
    })
  }
  return cert
}

async function writeAtomic(path: string, text: string, mode: number, signal?: AbortSignal): Promise<void> {
  try {
    await writeFileAtomic(path, text, { mode, signal })
  } catch (error) {
    if (signal?.aborted) throw error
    throw new KeyFileError(path, 'cannot be written', { cause: error })
  }
}

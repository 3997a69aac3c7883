import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { encodeBase32 as base32, ConfigError, isNodeId } from '@peer/discovery-core'
import { describe, expect, it } from 'vitest'
import {
  generateIdentity,
  IdentityConfigError,
  IdentityMismatchError,
  identityFromPem,
  nodeIdFromCertificate,
  nodeIdFromPublicKey,
} from '../src/index.js'

describe('generateIdentity', () => {
  it('makes an Ed25519 identity by default with a self-signed certificate naming the id', async () => {
    const identity = await generateIdentity()
    expect(identity.keyType).toBe('ed25519')
    expect(isNodeId(identity.id)).toBe(true)
    expect(identity.id).toHaveLength(52)
    const cert = new X509Certificate(identity.certificatePem)
    expect(cert.subject).toBe(`CN=${identity.id}`)
    expect(cert.verify(cert.publicKey)).toBe(true)
    expect(cert.checkPrivateKey(identity.privateKey)).toBe(true)
    expect(Buffer.from(identity.certificateDer).equals(cert.raw)).toBe(true)
    expect(identity.notAfter.getTime()).toBeGreaterThan(Date.now() + 3000 * 86_400_000)
    expect(identity.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
  })

  it('makes P-256 identities', async () => {
    const identity = await generateIdentity({ keyType: 'p256', validityDays: 1 })
    expect(identity.keyType).toBe('p256')
    expect(isNodeId(identity.id)).toBe(true)
    expect(identity.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(identity.notAfter.getTime()).toBeLessThan(Date.now() + 2 * 86_400_000)
  })

  it('gives every key pair a different id', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    expect(a.id).not.toBe(b.id)
  })

  it('rejects unknown key types and bad validity', async () => {
    await expect(generateIdentity({ keyType: 'rsa' as never })).rejects.toThrow(/unsupported key type "rsa"/)
    await expect(generateIdentity({ validityDays: 0 })).rejects.toBeInstanceOf(IdentityConfigError)
    await expect(generateIdentity({ validityDays: 0 })).rejects.toBeInstanceOf(ConfigError)
  })
})

describe('node ids', () => {
  it('are base32 of SHA-256 over the DER SubjectPublicKeyInfo, stable across representations', async () => {
    const identity = await generateIdentity()
    const spki = identity.publicKey.export({ type: 'spki', format: 'der' })
    const expected = base32(createHash('sha256').update(spki).digest())
    expect(identity.id).toBe(expected)
    expect(nodeIdFromPublicKey(spki)).toBe(expected)
    expect(nodeIdFromPublicKey(identity.privateKey)).toBe(expected)
    expect(nodeIdFromPublicKey(createPublicKey(identity.privateKeyPem))).toBe(expected)
    expect(nodeIdFromCertificate(identity.certificateDer)).toBe(expected)
    expect(nodeIdFromCertificate(identity.certificatePem)).toBe(expected)
  })

  it('match a known vector', () => {
    // RFC 8032 test 1 public key, wrapped in its SubjectPublicKeyInfo
    const raw = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw])
    const id = nodeIdFromPublicKey(spki)
    expect(id).toBe(base32(createHash('sha256').update(spki).digest()))
    expect(id).toMatchInlineSnapshot(`"a3r73d62fg5wbk2zkv66mhw3blwnwiyrgs7dbz23ivpy4g3zf6uq"`)
    expect(isNodeId(id)).toBe(true)
  })
})

describe('identityFromPem', () => {
  it('round-trips an identity', async () => {
    const identity = await generateIdentity({ keyType: 'p256' })
    const again = identityFromPem(identity)
    expect(again.id).toBe(identity.id)
    expect(again.keyType).toBe('p256')
  })

  it('rejects a certificate of another key, naming both ids', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()])
    const error = (() => {
      try {
        identityFromPem({ privateKeyPem: a.privateKeyPem, certificatePem: b.certificatePem })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(IdentityMismatchError)
    expect((error as Error).message).toContain(a.id)
    expect((error as Error).message).toContain(b.id)
  })

  it('rejects garbage and unsupported key types', async () => {
    const a = await generateIdentity()
    expect(() => identityFromPem({ privateKeyPem: 'nope', certificatePem: a.certificatePem })).toThrow(
      /private key PEM cannot be parsed/,
    )
    expect(() => identityFromPem({ privateKeyPem: a.privateKeyPem, certificatePem: 'nope' })).toThrow(
      /certificate PEM cannot be parsed/,
    )
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    expect(() => identityFromPem({ privateKeyPem: pem, certificatePem: a.certificatePem })).toThrow(
      /unsupported key type rsa/,
    )
  })
})

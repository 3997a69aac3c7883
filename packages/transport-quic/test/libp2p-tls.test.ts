import { generateIdentity, type Identity } from '@peer/identity'
import { describe, expect, it } from 'vitest'
import {
  hostSpkiFromProto,
  Libp2pCertificateError,
  libp2pCertificate,
  makeCertificate,
  nodeIdFromPeerId,
  publicKeyProto,
  verifyLibp2pCertificate,
} from '../src/libp2p-tls.js'
import { peerIdOf } from './fixtures/peer-ids.js'

const [ed, p256] = (await Promise.all([generateIdentity(), generateIdentity({ keyType: 'p256' })])) as [
  Identity,
  Identity,
]

describe('libp2p TLS certificates', () => {
  it('verify to the same node id as the identity, for Ed25519 and P-256', async () => {
    for (const identity of [ed, p256]) {
      const cert = await libp2pCertificate(identity)
      expect(verifyLibp2pCertificate(cert.der)).toBe(identity.id)
    }
  })

  it('derive the node id from an Ed25519 peer id (what quinn reports)', () => {
    const peerId = peerIdOf(ed)
    expect(peerId.startsWith('12D3KooW')).toBe(true)
    expect(nodeIdFromPeerId(peerId)).toBe(ed.id)
    expect(() => nodeIdFromPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toThrow(
      Libp2pCertificateError,
    )
  })

  it('refuse a certificate whose host key signature does not cover its key', async () => {
    const cert = await libp2pCertificate(ed)
    const der = Buffer.from(cert.der)
    // the signature is the last OCTET STRING of the extension: flip a byte inside it
    const proto = publicKeyProto(ed)
    const at = der.indexOf(proto) + proto.byteLength + 10
    der[at] = (der[at] ?? 0) ^ 0xff
    // the outer self-signature no longer matches either; either check refuses it
    expect(() => verifyLibp2pCertificate(der)).toThrow(Libp2pCertificateError)
  })

  it('refuse a well-formed certificate whose host key signed another key', async () => {
    const other = await libp2pCertificate(p256)
    const { X509Certificate } = await import('node:crypto')
    const otherSpki = new X509Certificate(Buffer.from(other.der)).publicKey.export({
      type: 'spki',
      format: 'der',
    })
    const forged = await makeCertificate(ed, { signedSpki: otherSpki })
    expect(() => verifyLibp2pCertificate(forged.der)).toThrow(/signature is invalid/)
  })

  it('refuse a certificate without the libp2p extension (a plain identity certificate)', () => {
    expect(() => verifyLibp2pCertificate(ed.certificateDer)).toThrow(/libp2p extension/)
  })

  it('refuse bytes after the certificate, and an ECDSA host key that is not a public key', async () => {
    const cert = await libp2pCertificate(ed)
    // found by the fuzz suite: the DER parsers read the first object and ignored the rest
    const padded = Buffer.concat([cert.der, Buffer.of(0x30, 0x00)])
    expect(() => verifyLibp2pCertificate(padded)).toThrow(/2 bytes after the certificate's end/)
    // an ECDSA key protobuf (type 3) carrying no SPKI, then one carrying an empty SEQUENCE
    expect(() => hostSpkiFromProto(Buffer.of(0x08, 0x03, 0x12, 0x00))).toThrow(Libp2pCertificateError)
    expect(() => hostSpkiFromProto(Buffer.of(0x08, 0x03, 0x12, 0x02, 0x30, 0x00))).toThrow(/not a public key/)
  })

  it('make one certificate per identity, whose key is not the identity key', async () => {
    const a = await libp2pCertificate(ed)
    expect(await libp2pCertificate(ed)).toBe(a)
    expect(a.certPem).not.toContain(ed.certificatePem)
    expect(a.keyPem).not.toBe(ed.privateKeyPem)
  })
})

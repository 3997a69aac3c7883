// Fuzz: the libp2p TLS certificate scheme's parsers, which read what a peer presents before it is
// trusted: `verifyLibp2pCertificate` (a matrixai listener or dialer runs it on the peer's
// certificate), the SignedKey extension inside it, `hostSpkiFromProto` (the host key protobuf) and
// `nodeIdFromPeerId` (the base58 peer id quinn reports). Inputs: valid certificates mutated and
// spliced; real self-signed certificates whose libp2p extension is mutated, spliced, random or
// structured with random fields; mutated and random peer ids and key protobufs. Invariants: only
// `Libp2pCertificateError` with a useful message; a certificate is accepted only with the node id of
// the identity that made it (nothing else can sign); an accepted peer id or key maps to a valid node
// id; bounded time per case. See docs/fuzzing.md.
// @peculiar/x509 needs the reflect polyfill before it loads (the transport imports it the same way)
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import { isNodeId } from '@peer/discovery-core'
import { generateIdentity, type Identity } from '@peer/identity'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import {
  expectDocumentedError,
  mutatedBytes,
  mutatedText,
  splicedBytes,
  withinCaseBound,
  withinCaseBoundAsync,
} from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  hostSpkiFromProto,
  LIBP2P_EXTENSION_OID,
  Libp2pCertificateError,
  libp2pCertificate,
  nodeIdFromPeerId,
  publicKeyProto,
  verifyLibp2pCertificate,
} from '../src/libp2p-tls.js'
import { peerIdOfProto } from './fixtures/peer-ids.js'

const identities = (await Promise.all([generateIdentity(), generateIdentity({ keyType: 'p256' })])) as [
  Identity,
  Identity,
]
const certificates = await Promise.all(identities.map((i) => libp2pCertificate(i)))
const ders = certificates.map((c) => c.der)
const protos = identities.map((i) => publicKeyProto(i))

const ids = identities.map((i) => i.id)
/** What a certificate made by `identities[i]` verifies to: that identity's id. */
const idOfDer = new Map(ders.map((d, i) => [Buffer.from(d).toString('hex'), identities[i]!.id]))

/** The libp2p extension value (SignedKey) of each valid certificate. */
const signedKeys = ders.map((der) => {
  const ext = new x509.X509Certificate(Buffer.from(der)).extensions.find(
    (e) => e.type === LIBP2P_EXTENSION_OID,
  )
  return new Uint8Array(ext!.value)
})

const peerIds = protos.map((p) => peerIdOfProto(p))

// DER pieces for structured SignedKey values
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}
const tlv = (tag: number, body: Uint8Array) =>
  Buffer.concat([Buffer.of(tag), derLength(body.byteLength), body])
/** A host key protobuf: field 1 (type) and field 2 (data), with a random type and data. */
const protoArb = fc
  .tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 120 }))
  .map(([type, data]) =>
    Buffer.concat([Buffer.of(0x08), varint(type), Buffer.of(0x12), varint(data.byteLength), data]),
  )
function varint(n: number): Buffer {
  const out: number[] = []
  let v = n
  do {
    out.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0))
    v = Math.floor(v / 128)
  } while (v > 0)
  return Buffer.from(out)
}

const extensionValueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  mutatedBytes(fc.constantFrom(...signedKeys)),
  splicedBytes(fc.constantFrom(...signedKeys)),
  fc.uint8Array({ maxLength: 200 }),
  // well-formed SignedKey with random key protobufs and signatures (a valid key of another identity too)
  fc
    .tuple(fc.oneof(protoArb, fc.constantFrom(...protos)), fc.uint8Array({ maxLength: 80 }))
    .map(([proto, sig]) => tlv(0x30, Buffer.concat([tlv(0x04, proto), tlv(0x04, sig)]))),
)

// one certificate key for the made certificates: each case signs a new certificate with it
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
x509.cryptoProvider.set(webcrypto as unknown as Crypto)
const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair

async function certificateWith(value: Uint8Array, extra: 'none' | 'critical' | 'plain'): Promise<Uint8Array> {
  const now = Date.now()
  const extensions = [new x509.Extension(LIBP2P_EXTENSION_OID, true, new Uint8Array(value))]
  // a second extension: critical ones other than libp2p's are refused, plain ones ignored
  if (extra !== 'none')
    extensions.push(new x509.Extension('1.2.3.4.5', extra === 'critical', Buffer.of(5, 0)))
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=fuzz',
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    signingAlgorithm: algorithm,
    keys,
    extensions,
  })
  return new Uint8Array(cert.rawData)
}

/** Runs `verifyLibp2pCertificate`: an id only of an identity that made a certificate, else the error. */
function checkVerify(der: Uint8Array): void {
  let id: string | undefined
  try {
    id = withinCaseBound(() => verifyLibp2pCertificate(der))
  } catch (error) {
    expectDocumentedError(error, Libp2pCertificateError)
    return
  }
  // nothing but the identity's key can sign over a certificate key (and trailing bytes are refused)
  expect(ids).toContain(id)
  if (idOfDer.has(Buffer.from(der).toString('hex')))
    expect(id).toBe(idOfDer.get(Buffer.from(der).toString('hex')))
}

describe('libp2p TLS certificates, fuzzed', () => {
  it(
    'a mutated or spliced certificate verifies to its own id or fails with Libp2pCertificateError',
    () => {
      const derArb = fc.constantFrom(...ders)
      fc.assert(
        fc.property(
          fc.oneof(mutatedBytes(derArb), splicedBytes(derArb), fc.uint8Array({ maxLength: 600 })),
          (der) => checkVerify(der),
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a self-signed certificate with a fuzzed libp2p extension is refused with Libp2pCertificateError',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          extensionValueArb,
          fc.constantFrom('none', 'critical', 'plain'),
          async (value, extra) => {
            const der = await certificateWith(value, extra as 'none' | 'critical' | 'plain')
            // no case can carry a valid host key signature over this certificate's key
            await withinCaseBoundAsync(async () => {
              expect(() => verifyLibp2pCertificate(der)).toThrow(Libp2pCertificateError)
            })
            try {
              verifyLibp2pCertificate(der)
            } catch (error) {
              expectDocumentedError(error, Libp2pCertificateError)
            }
          },
        ),
        fuzzParams(300),
      )
    },
    fuzzTimeoutMs(300, 20),
  )

  it(
    'a peer id maps to a valid node id or fails with Libp2pCertificateError, quickly at any length',
    () => {
      const peerIdArb = fc.oneof(
        mutatedText(fc.constantFrom(...peerIds)),
        fc.string({ maxLength: 80 }),
        fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{0,120}$/),
        fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{1000,5000}$/),
        protoArb.map((p) => peerIdOfProto(p)),
      )
      fc.assert(
        fc.property(peerIdArb, (peerId) => {
          try {
            const id = withinCaseBound(() => nodeIdFromPeerId(peerId))
            expect(isNodeId(id)).toBe(true)
            const known = peerIds.indexOf(peerId)
            if (known >= 0) expect(id).toBe(identities[known]!.id)
          } catch (error) {
            expectDocumentedError(error, Libp2pCertificateError)
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'a host key protobuf gives an SPKI or fails with Libp2pCertificateError',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(mutatedBytes(fc.constantFrom(...protos)), protoArb, fc.uint8Array({ maxLength: 100 })),
          (proto) => {
            try {
              const spki = withinCaseBound(() => hostSpkiFromProto(proto))
              expect(spki.byteLength).toBeGreaterThan(0)
            } catch (error) {
              expectDocumentedError(error, Libp2pCertificateError)
            }
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

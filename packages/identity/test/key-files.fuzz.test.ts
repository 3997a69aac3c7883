// Fuzz: identity key and certificate files (loadIdentity), PEM text (identityFromPem) and
// certificates from outside (nodeIdFromCertificate), fed formatting variants of real identities,
// text mutations of the PEM files and mutations of the DER inside them. Invariants: only
// IdentityError (or its subclasses KeyFileError, IdentityMismatchError) with a message naming
// the file or the part; an accepted identity is self-consistent; a valid pair round-trips
// (save -> load, PEM -> identity); bounded time. See docs/fuzzing.md.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fuzzParams, fuzzRuns, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import {
  expectDocumentedError,
  mutatedBytes,
  mutatedText,
  withinCaseBound,
  withinCaseBoundAsync,
} from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateIdentity,
  type Identity,
  IdentityError,
  identityFromPem,
  KeyFileError,
  loadIdentity,
  nodeIdFromCertificate,
  nodeIdFromPublicKey,
  saveIdentity,
} from '../src/index.js'

/** Saves sync to disk: 20 cases in CI, at most 200 in the long run. */
const SAVE_RUNS = Math.min(fuzzRuns(20), 200)

/**
 * Properties that write and read two files per case: 500 cases in CI (each costs tens of ms of disk
 * and key parsing; 2,000 took over 60 s at load 46), 100,000 with `pnpm fuzz`.
 */
const FILE_RUNS = 500
/** Timeout of a file property: 200 ms per case, so a loaded machine is slow, not red. */
const FILE_TIMEOUT_MS = fuzzTimeoutMs(FILE_RUNS, 200)

/** Reading files shares the disk with the rest of the machine: a looser bound than in-memory parsers. */
const FILE_CASE_MS = 1000

let dir: string
let keyFile: string
let certFile: string
/** Real identities of both key types; the generators pick among them. */
const pool: Identity[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `peer-identity-fuzz-${process.pid}-`))
  keyFile = join(dir, 'node.key')
  certFile = join(dir, 'node.crt')
  for (const keyType of ['ed25519', 'p256', 'ed25519', 'p256'] as const)
    pool.push(await generateIdentity({ keyType }))
}, 60_000)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const pick = fc.nat({ max: 3 })
/** Lines around a PEM block (comments as openssl writes them), without dashes. */
const prose = fc
  .array(fc.stringMatching(/^[A-Za-z0-9 :=#.]{0,30}$/), { maxLength: 3 })
  .map((l) => l.map((x) => `${x}\n`).join(''))

/** A valid key/cert pair in one of the formats the loader accepts. */
const validPairArb = fc
  .record({
    which: pick,
    sec1: fc.boolean(),
    crlf: fc.boolean(),
    before: prose,
    after: prose,
    bundle: fc.boolean(),
  })
  .map(({ which, sec1, crlf, before, after, bundle }) => {
    const identity = pool[which]!
    let key =
      sec1 && identity.keyType === 'p256'
        ? identity.privateKey.export({ type: 'sec1', format: 'pem' }).toString()
        : identity.privateKeyPem
    let cert = identity.certificatePem
    if (bundle) cert = `${cert}${identity.certificatePem}` // a chain: the first block counts
    key = `${before}${key}${after}`
    cert = `${before}${cert}${after}`
    if (crlf) {
      key = key.replace(/\n/g, '\r\n')
      cert = cert.replace(/\n/g, '\r\n')
    }
    return { identity, key, cert }
  })

/** The DER inside a PEM block, mutated, re-wrapped in the same PEM label. */
function mutatedDerPem(pemOf: (identity: Identity) => string): fc.Arbitrary<string> {
  return pick.chain((which) => {
    const pem = pemOf(pool[which]!)
    const label = /-----BEGIN ([A-Z ]+)-----/.exec(pem)![1]!
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
    return mutatedBytes(fc.constant(new Uint8Array(der)), 3).map(
      (bytes) =>
        `-----BEGIN ${label}-----\n${Buffer.from(bytes)
          .toString('base64')
          .replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`,
    )
  })
}

const keyTextArb = fc.oneof(
  mutatedText(
    pick.map((i) => pool[i]!.privateKeyPem),
    3,
  ),
  mutatedDerPem((i) => i.privateKeyPem),
  fc.string({ maxLength: 200 }),
)
const certTextArb = fc.oneof(
  mutatedText(
    pick.map((i) => pool[i]!.certificatePem),
    3,
  ),
  mutatedDerPem((i) => i.certificatePem),
  fc.string({ maxLength: 200 }),
)

/** What every accepted identity satisfies. */
function selfConsistent(identity: Identity): void {
  expect(identity.id).toBe(nodeIdFromPublicKey(identity.publicKey))
  expect(nodeIdFromCertificate(identity.certificateDer)).toBe(identity.id)
  expect(nodeIdFromCertificate(identity.certificatePem)).toBe(identity.id)
}

async function loadChecked(key: string, cert: string): Promise<Identity | undefined> {
  await writeFile(keyFile, key, { mode: 0o600 })
  await writeFile(certFile, cert)
  try {
    const identity = await withinCaseBoundAsync(() => loadIdentity({ keyFile, certFile }), FILE_CASE_MS)
    selfConsistent(identity)
    return identity
  } catch (error) {
    const e = expectDocumentedError(error, IdentityError)
    if (e instanceof KeyFileError) {
      expect([keyFile, certFile]).toContain(e.path)
      expect(e.message.startsWith(`${e.path}: `)).toBe(true)
    }
    return undefined
  }
}

function fromPemChecked(privateKeyPem: string, certificatePem: string): Identity | undefined {
  try {
    const identity = withinCaseBound(() => identityFromPem({ privateKeyPem, certificatePem }))
    selfConsistent(identity)
    return identity
  } catch (error) {
    expectDocumentedError(error, IdentityError)
    return undefined
  }
}

describe('key and certificate files (fuzz)', () => {
  it('a certificate whose public key does not decode is an IdentityError, not an OpenSSL error (fuzzer case)', async () => {
    const identity = pool.find((i) => i.keyType === 'p256')!
    const der = Buffer.from(identity.certificateDer)
    const point = der.indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04])) // BIT STRING holding the EC point
    expect(point).toBeGreaterThan(0)
    der[point + 5]! ^= 0x01 // the point leaves the curve; the certificate still parses
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`
    expect(() => nodeIdFromCertificate(der)).toThrow(IdentityError)
    expect(() => nodeIdFromCertificate(der)).toThrow("the certificate's public key cannot be decoded")
    expect(() => identityFromPem({ privateKeyPem: identity.privateKeyPem, certificatePem: pem })).toThrow(
      "the certificate's public key cannot be decoded",
    )
    await writeFile(keyFile, identity.privateKeyPem, { mode: 0o600 })
    await writeFile(certFile, pem)
    const error = await loadIdentity({ keyFile, certFile }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KeyFileError)
    expect((error as KeyFileError).message).toBe(
      `${certFile}: certificate file is corrupt (its public key cannot be decoded)`,
    )
    expect(() => nodeIdFromCertificate(Uint8Array.of(0x30, 0x00))).toThrow('the certificate cannot be parsed')
  })

  it(
    'valid pairs in every accepted format load to the same identity',
    async () => {
      await fc.assert(
        fc.asyncProperty(validPairArb, async ({ identity, key, cert }) => {
          const loaded = await loadChecked(key, cert)
          expect(loaded?.id).toBe(identity.id)
          expect(loaded?.privateKeyPem).toBe(identity.privateKeyPem)
          expect(loaded?.certificatePem).toBe(identity.certificatePem)
          expect(fromPemChecked(key, cert)?.id).toBe(identity.id)
        }),
        fuzzParams(FILE_RUNS),
      )
    },
    FILE_TIMEOUT_MS,
  )

  it(
    'save -> load round-trips (few cases: each save syncs two files to disk)',
    async () => {
      await fc.assert(
        fc.asyncProperty(pick, async (which) => {
          const identity = pool[which]!
          await saveIdentity(identity, { keyFile, certFile })
          const loaded = await loadIdentity({ keyFile, certFile })
          expect([loaded.id, loaded.privateKeyPem, loaded.certificatePem]).toEqual([
            identity.id,
            identity.privateKeyPem,
            identity.certificatePem,
          ])
        }),
        fuzzParams(20, { numRuns: SAVE_RUNS }),
      )
    },
    Math.max(60_000, SAVE_RUNS * 200),
  )

  it(
    'mutated key and certificate files: a self-consistent identity or an IdentityError naming the file',
    async () => {
      const pairArb = fc.oneof(
        fc.tuple(
          keyTextArb,
          pick.map((i) => pool[i]!.certificatePem),
        ),
        fc.tuple(
          pick.map((i) => pool[i]!.privateKeyPem),
          certTextArb,
        ),
        fc.tuple(keyTextArb, certTextArb),
      )
      await fc.assert(
        fc.asyncProperty(pairArb, async ([key, cert]) => {
          await loadChecked(key, cert)
        }),
        fuzzParams(FILE_RUNS),
      )
    },
    FILE_TIMEOUT_MS,
  )

  it(
    'PEM text and certificates from outside: identityFromPem and nodeIdFromCertificate throw only IdentityError',
    () => {
      const derArb = pick.chain((i) => mutatedBytes(fc.constant(pool[i]!.certificateDer), 3))
      fc.assert(
        fc.property(
          keyTextArb,
          certTextArb,
          fc.oneof(derArb, fc.uint8Array({ maxLength: 64 })),
          (key, cert, der) => {
            fromPemChecked(key, cert)
            for (const input of [der, cert]) {
              try {
                const id = withinCaseBound(() => nodeIdFromCertificate(input))
                expect(id).toHaveLength(52)
              } catch (error) {
                expect(expectDocumentedError(error, IdentityError).message).toMatch(/certificate/)
              }
            }
          },
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

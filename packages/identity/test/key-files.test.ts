import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateIdentity,
  type Identity,
  IdentityMismatchError,
  InsecureKeyFileError,
  KeyFileError,
  loadIdentity,
  loadOrCreateIdentity,
  saveIdentity,
} from '../src/index.js'

let dir: string
let identity: Identity
let n = 0
const fresh = () => join(dir, `case-${n++}`)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `peer-identity-${process.pid}-`))
  identity = await generateIdentity()
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

describe('saveIdentity / loadIdentity', () => {
  it('round-trips both key types through a directory, key mode 0600, cert 0644', async () => {
    for (const keyType of ['ed25519', 'p256'] as const) {
      const id = await generateIdentity({ keyType })
      const where = fresh()
      const paths = await saveIdentity(id, where)
      expect((await stat(paths.keyFile)).mode & 0o777).toBe(0o600)
      expect((await stat(paths.certFile)).mode & 0o777).toBe(0o644)
      const loaded = await loadIdentity(where)
      expect(loaded.id).toBe(id.id)
      expect(loaded.keyType).toBe(keyType)
      expect(loaded.certificatePem).toBe(id.certificatePem)
    }
  })

  it('writes 0600 even with a permissive umask and when overwriting a 0644 file', async () => {
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    await chmod(paths.keyFile, 0o644)
    const old = process.umask(0)
    try {
      await saveIdentity(identity, where)
    } finally {
      process.umask(old)
    }
    expect((await stat(paths.keyFile)).mode & 0o777).toBe(0o600)
  })

  it('accepts explicit paths', async () => {
    const paths = { keyFile: join(fresh(), 'a.pem'), certFile: join(fresh(), 'b.pem') }
    await saveIdentity(identity, paths)
    expect((await loadIdentity(paths)).id).toBe(identity.id)
  })

  it('refuses a key readable by group or others, saying how to fix it', async () => {
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(paths.keyFile, mode)
      const error = await rejection(loadIdentity(where))
      expect(error).toBeInstanceOf(InsecureKeyFileError)
      expect(error.message).toContain(`mode 0${mode.toString(8)}`)
      expect(error.message).toContain('chmod 600')
    }
  })

  it('reports missing files', async () => {
    const error = await rejection(loadIdentity(fresh()))
    expect(error).toBeInstanceOf(KeyFileError)
    expect(error.message).toMatch(/private key file does not exist/)
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    await rm(paths.certFile)
    expect((await rejection(loadIdentity(where))).message).toMatch(/certificate file does not exist/)
  })

  async function withKey(text: string): Promise<Error> {
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    await writeFile(paths.keyFile, text, { mode: 0o600 })
    return rejection(loadIdentity(where))
  }
  async function withCert(text: string): Promise<Error> {
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    await writeFile(paths.certFile, text)
    return rejection(loadIdentity(where))
  }

  it('reports an empty key file', async () => {
    const error = await withKey('')
    expect(error).toBeInstanceOf(KeyFileError)
    expect(error.message).toMatch(/private key file is empty/)
  })

  it('reports a file that is not PEM', async () => {
    expect((await withKey('hello world\n')).message).toMatch(/holds no PEM block/)
  })

  it('reports a truncated key file', async () => {
    const error = await withKey(identity.privateKeyPem.slice(0, 60))
    expect(error).toBeInstanceOf(KeyFileError)
    expect(error.message).toMatch(/truncated/)
  })

  it('reports a corrupt key file', async () => {
    const lines = identity.privateKeyPem.split('\n')
    lines[1] = 'AAAA'
    const error = await withKey(lines.join('\n'))
    expect(error).toBeInstanceOf(KeyFileError)
    expect(error.message).toMatch(/private key file is corrupt/)
  })

  it('reports a certificate where the key should be, and vice versa', async () => {
    expect((await withKey(identity.certificatePem)).message).toMatch(
      /holds CERTIFICATE instead of PRIVATE KEY/,
    )
    expect((await withCert(identity.privateKeyPem)).message).toMatch(
      /holds PRIVATE KEY instead of CERTIFICATE/,
    )
  })

  it('reports an encrypted key', async () => {
    const text = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n'
    expect((await withKey(text)).message).toMatch(/encrypted/)
  })

  it('reports a truncated and a corrupt certificate', async () => {
    expect((await withCert(identity.certificatePem.slice(0, 200))).message).toMatch(
      /certificate file is truncated/,
    )
    const lines = identity.certificatePem.split('\n')
    lines[2] = 'AAAA'
    expect((await withCert(lines.join('\n'))).message).toMatch(/certificate file is corrupt/)
    expect((await withCert('')).message).toMatch(/certificate file is empty/)
  })

  it('reports a huge file without reading it', async () => {
    expect((await withCert('x'.repeat(70_000))).message).toMatch(/too large/)
  })

  it('reports a key and certificate that do not match, naming both ids', async () => {
    const other = await generateIdentity()
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    await writeFile(paths.certFile, other.certificatePem)
    const error = await rejection(loadIdentity(where))
    expect(error).toBeInstanceOf(IdentityMismatchError)
    expect(error.message).toContain(identity.id)
    expect(error.message).toContain(other.id)
  })
})

describe('loadOrCreateIdentity', () => {
  it('creates once, then loads the same identity', async () => {
    const where = fresh()
    const first = await loadOrCreateIdentity(where, { keyType: 'p256' })
    expect(first.created).toBe(true)
    const second = await loadOrCreateIdentity(where)
    expect(second.created).toBe(false)
    expect(second.identity.id).toBe(first.identity.id)
    expect(second.identity.keyType).toBe('p256')
  })

  it('never overwrites half an identity', async () => {
    const where = fresh()
    const paths = await saveIdentity(identity, where)
    const before = await readFile(paths.keyFile, 'utf8')
    await rm(paths.certFile)
    const error = await rejection(loadOrCreateIdentity(where))
    expect(error.message).toMatch(/certificate file is missing/)
    expect(await readFile(paths.keyFile, 'utf8')).toBe(before)
  })
})

describe('signals', () => {
  it('saveIdentity, loadIdentity, loadOrCreateIdentity and generateIdentity reject with AbortError', async () => {
    const signal = AbortSignal.abort()
    const where = fresh()
    await expect(saveIdentity(identity, where, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(stat(join(where, 'node.key'))).rejects.toMatchObject({ code: 'ENOENT' })
    await saveIdentity(identity, where)
    await expect(loadIdentity(where, { signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(loadOrCreateIdentity(fresh(), { signal })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(generateIdentity({ signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect((await loadIdentity(where)).id).toBe(identity.id)
  })
})

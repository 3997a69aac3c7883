import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { testId } from '@peer/testkit/ids'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigError, loadConfigFile, parseConfig } from '../src/index.js'
import { MAX_BACKENDS, MAX_CONFIG_BYTES, MAX_REPORTED_PROBLEMS, parseBackendConfig } from '../src/internal.js'
import { makeTempDir, removeTempDir } from './helpers.js'

const A = testId('a')
const B = testId('b')

function problem(input: unknown): { field: string; message: string; text: string } {
  try {
    parseConfig(input, { file: 'peer.json' })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const e = error as ConfigError
    expect(e.name).toBe('ConfigError')
    expect(e.exitCode).toBe(2)
    return { field: e.field, message: e.problems[0]!.message, text: e.message }
  }
  throw new Error('expected a ConfigError')
}

describe('parseConfig: defaults and path resolution', () => {
  it('an empty object is a valid configuration with defaults', () => {
    const c = parseConfig({}, { file: '/etc/peer/peer.json', env: { PEER_HOME: '/var/lib/peer' } })
    expect(c).toEqual({
      name: undefined,
      identity: '/var/lib/peer/identity',
      createIdentity: false,
      listen: { host: '127.0.0.1', port: 0 },
      advertise: undefined,
      trust: { peers: [] },
      discovery: [],
      lostHysteresisMs: undefined,
      meta: undefined,
      requestTimeoutMs: undefined,
      transport: undefined,
      reconnect: undefined,
      log: { level: 'warn', filter: undefined },
    })
  })

  it('resolves relative paths against the config file directory and normalises shorthands', () => {
    const c = parseConfig(
      {
        name: 'app@localhost',
        identity: './id',
        listen: '[::1]:4000',
        advertise: ['127.0.0.1:4000', { host: '::1', port: 4000 }],
        trust: 'trust.json',
        discovery: [
          { backend: 'static', file: 'peers.json' },
          { backend: 'etcd', endpoints: 'http://127.0.0.1:2379', prefix: '/peer' },
        ],
      },
      { file: '/etc/peer/peer.json' },
    )
    expect(c.identity).toBe('/etc/peer/id')
    expect(c.listen).toEqual({ host: '::1', port: 4000 })
    expect(c.advertise).toEqual([
      { host: '127.0.0.1', port: 4000 },
      { host: '::1', port: 4000 },
    ])
    expect(c.trust).toEqual({ file: '/etc/peer/trust.json', peers: [] })
    expect(c.discovery[0]).toEqual({ backend: 'static', file: '/etc/peer/peers.json' })
    expect(c.discovery[1]).toMatchObject({ backend: 'etcd', endpoints: 'http://127.0.0.1:2379' })
  })

  it('accepts inline trust entries as ids or { id, label } and explicit key/cert files', () => {
    const c = parseConfig(
      {
        identity: { keyFile: 'k.pem', certFile: '/abs/c.pem' },
        trust: { peers: [A, { id: B, label: 'b' }] },
      },
      { file: 'command line', baseDir: '/work' },
    )
    expect(c.identity).toEqual({ keyFile: '/work/k.pem', certFile: '/abs/c.pem' })
    expect(c.trust.peers).toEqual([{ id: A }, { id: B, label: 'b' }])
  })
})

describe('parseConfig: dns retry and cost options reach the backend', () => {
  it('accepts retryDelayMs, maxRetryDelayMs, jitter and concurrency; the deprecated retryDelay (seconds) too', () => {
    const now = parseConfig(
      {
        discovery: [{ backend: 'dns', resolvers: '127.0.0.1:53', domain: 'example.test', retryDelayMs: 500 }],
      },
      { file: 'peer.json' },
    )
    expect(now.discovery[0]).toMatchObject({ retryDelayMs: 500 })
    const c = parseConfig(
      {
        discovery: [
          {
            backend: 'dns',
            resolvers: '127.0.0.1:53',
            domain: 'example.test',
            retryDelay: 0.5,
            maxRetryDelayMs: 4000,
            jitter: 0.2,
            concurrency: 64,
          },
        ],
      },
      { file: 'peer.json' },
    )
    expect(c.discovery[0]).not.toHaveProperty('retryDelay')
    expect(c.discovery[0]).toMatchObject({
      retryDelayMs: 500,
      maxRetryDelayMs: 4000,
      jitter: 0.2,
      concurrency: 64,
    })
  })

  it('names a bad value', () => {
    expect(() =>
      parseConfig(
        { discovery: [{ backend: 'dns', resolvers: '127.0.0.1:53', domain: 'x', jitter: 2 }] },
        { file: 'peer.json' },
      ),
    ).toThrow(/discovery\[0\]\.jitter/)
  })
})

describe('parseConfig: every bad field is named', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['not an object', [], '', /expected object, got an array/],
    ['unknown top-level key (typo)', { lisen: '1.2.3.4:1' }, '', /unknown key "lisen"/],
    ['name without @', { name: 'app' }, 'name', /invalid node name "app"/],
    ['name of wrong type', { name: 7 }, 'name', /expected string, got number 7/],
    ['identity empty', { identity: '' }, 'identity', /non-empty path/],
    ['identity object missing certFile', { identity: { keyFile: 'k' } }, 'identity.certFile', /is required/],
    ['createIdentity not boolean', { createIdentity: 'yes' }, 'createIdentity', /expected boolean/],
    ['listen not host:port', { listen: 'localhost' }, 'listen', /expected "host:port"/],
    ['listen port out of range', { listen: '127.0.0.1:70000' }, 'listen', /port in 0-65535/],
    ['listen object without port', { listen: { host: '127.0.0.1' } }, 'listen.port', /port in 0-65535/],
    ['listen object bad host', { listen: { host: 'bad host', port: 1 } }, 'listen.host', /host/],
    ['listen a number', { listen: 4000 }, 'listen', /expected "host:port" or \{ "host", "port" \}/],
    ['advertise port 0', { advertise: ['127.0.0.1:0'] }, 'advertise[0]', /port in 1-65535/],
    [
      'advertise 0.0.0.0',
      { advertise: ['127.0.0.1:1', '0.0.0.0:4000'] },
      'advertise[1]',
      /unspecified address/,
    ],
    ['advertise [::]', { advertise: [{ host: '::', port: 4000 }] }, 'advertise[0]', /unspecified address/],
    ['advertise multicast', { advertise: ['224.0.0.251:4000'] }, 'advertise[0]', /is a multicast/],
    ['advertise not an array', { advertise: '127.0.0.1:1' }, 'advertise', /expected array/],
    ['trust of wrong type', { trust: 5 }, 'trust', /expected string or object, got number 5/],
    ['trust.peers bad id', { trust: { peers: ['nope'] } }, 'trust.peers[0]', /node id/],
    [
      'trust.peers entry bad label',
      { trust: { peers: [{ id: A, label: 1 }] } },
      'trust.peers[0].label',
      /string/,
    ],
    ['trust unknown key', { trust: { peer: [] } }, 'trust', /unknown key "peer"/],
    ['discovery not an array', { discovery: {} }, 'discovery', /expected array/],
    [
      'unknown backend',
      { discovery: [{ backend: 'consul' }] },
      'discovery[0].backend',
      /one of "static", "dns"/,
    ],
    [
      'static with nothing',
      { discovery: [{ backend: 'static' }] },
      'discovery[0]',
      /peers", "file" or "env"/,
    ],
    [
      'static peer bad id',
      { discovery: [{ backend: 'static', peers: [{ id: 'x', addresses: [] }] }] },
      'discovery[0].peers[0].id',
      /node id/,
    ],
    [
      'static peer bad address',
      { discovery: [{ backend: 'static', peers: [{ id: A, addresses: ['127.0.0.1:0'] }] }] },
      'discovery[0].peers[0].addresses[0]',
      /port in 1-65535/,
    ],
    [
      'static peer bad meta key',
      { discovery: [{ backend: 'static', peers: [{ id: A, addresses: [], meta: { 'a b': 'x' } }] }] },
      'discovery[0].peers[0].meta["a b"]',
      /meta keys are 1-64 characters/,
    ],
    [
      'static env not a variable name',
      { discovery: [{ backend: 'static', env: '1X' }] },
      'discovery[0].env',
      /environment variable/,
    ],
    [
      'static watch not boolean',
      { discovery: [{ backend: 'static', file: 'f', watch: 1 }] },
      'discovery[0].watch',
      /boolean/,
    ],
    [
      'dns resolver is a host name',
      { discovery: [{ backend: 'dns', resolvers: ['ns.example:53'], domain: 'example' }] },
      'discovery[0].resolvers[0]',
      /resolver as "ip:port"/,
    ],
    [
      'dns without domain or service',
      { discovery: [{ backend: 'dns', resolvers: '127.0.0.1:53' }] },
      'discovery[0]',
      /"domain" or "service"/,
    ],
    [
      'dns bad family',
      { discovery: [{ backend: 'dns', resolvers: '127.0.0.1:53', domain: 'x', families: [5] }] },
      'discovery[0].families[0]',
      /4|6/,
    ],
    [
      'dns missing resolvers',
      { discovery: [{ backend: 'dns', domain: 'x' }] },
      'discovery[0].resolvers',
      /required/,
    ],
    [
      'mdns bad service type',
      { discovery: [{ backend: 'mdns', service: 'peer' }] },
      'discovery[0].service',
      /_peer\._udp/,
    ],
    [
      'etcd bad endpoint',
      { discovery: [{ backend: 'etcd', endpoints: ['127.0.0.1:2379'] }] },
      'discovery[0].endpoints[0]',
      /etcd URL/,
    ],
    [
      'etcd no endpoints',
      { discovery: [{ backend: 'etcd', endpoints: [] }] },
      'discovery[0].endpoints',
      /at least 1 entry/,
    ],
    [
      'etcd bad prefix',
      { discovery: [{ backend: 'etcd', endpoints: 'http://a:1', prefix: 'peer' }] },
      'discovery[0].prefix',
      /starting with "\/"/,
    ],
    [
      'etcd ttl 0',
      { discovery: [{ backend: 'etcd', endpoints: 'http://a:1', ttl: 0 }] },
      'discovery[0].ttl',
      /at least 1/,
    ],
    [
      'the same backend twice',
      {
        discovery: [
          { backend: 'static', file: 'a' },
          { backend: 'static', file: 'b' },
        ],
      },
      'discovery[1].backend',
      /already configured at discovery\[0\]/,
    ],
    ['lostHysteresisMs negative', { lostHysteresisMs: -1 }, 'lostHysteresisMs', /at least 0/],
    ['meta value not a string', { meta: { zone: 1 } }, 'meta.zone', /expected string/],
    ['meta.services of this node', { meta: { services: 'kv' } }, 'meta.services', /use --provide NAME/],
    ['requestTimeoutMs 0', { requestTimeoutMs: 0 }, 'requestTimeoutMs', /at least 1/],
    ['transport unknown key', { transport: { idle: 1 } }, 'transport', /unknown key "idle"/],
    [
      'transport idle timeout negative',
      { transport: { maxIdleTimeoutMs: -5 } },
      'transport.maxIdleTimeoutMs',
      /at least 0/,
    ],
    [
      'reconnect maxDelayMs not integer',
      { reconnect: { maxDelayMs: 1.5 } },
      'reconnect.maxDelayMs',
      /integer/,
    ],
    ['log level unknown', { log: { level: 'loud' } }, 'log.level', /one of "debug", "info", "warn", "error"/],
  ]
  for (const [title, input, field, message] of cases) {
    it(title, () => {
      const p = problem(input)
      expect(p.field).toBe(field)
      expect(p.message).toMatch(message)
      expect(p.text).toContain(`peer.json: ${field ? `${field}: ` : ''}`)
    })
  }

  it(`more than ${MAX_BACKENDS} backends`, () => {
    const discovery = Array.from({ length: MAX_BACKENDS + 1 }, () => ({ backend: 'static', file: 'x' }))
    expect(problem({ discovery }).field).toBe('discovery')
  })

  it('lists several problems at once, and at most MAX_REPORTED_PROBLEMS of them', () => {
    try {
      parseConfig({ name: 'x', listen: 'y', createIdentity: 1 }, { file: 'peer.json' })
      expect.unreachable()
    } catch (error) {
      const e = error as ConfigError
      expect(e.problems.map((p) => p.field)).toEqual(
        ['name', 'createIdentity', 'listen'].sort((a, b) => order(a) - order(b)),
      )
      expect(e.message.split('\n')).toHaveLength(4)
    }
    const peers = Array.from({ length: 50 }, () => 'bad')
    try {
      parseConfig({ trust: { peers } }, { file: 'peer.json' })
      expect.unreachable()
    } catch (error) {
      const e = error as ConfigError
      expect(e.problems).toHaveLength(MAX_REPORTED_PROBLEMS + 1)
      expect(e.problems.at(-1)!.message).toBe('... and 30 more problems')
    }
  })

  it('renames fields to flags for command-line input', () => {
    expect(() =>
      parseBackendConfig(
        { backend: 'etcd', endpoints: ['nope'] },
        { file: 'command line', fieldNames: { endpoints: '--endpoint' } },
      ),
    ).toThrow('command line: --endpoint[0]: expected an etcd URL')
  })
})

function order(field: string): number {
  return ['name', 'createIdentity', 'listen'].indexOf(field)
}

describe('loadConfigFile', () => {
  let dir: string
  beforeAll(async () => {
    dir = await makeTempDir('config')
  })
  afterAll(() => removeTempDir(dir))

  const write = async (name: string, text: string | Buffer) => {
    const file = join(dir, name)
    await writeFile(file, text)
    return file
  }

  it('reads a valid file (with a UTF-8 BOM) and resolves paths against its directory', async () => {
    const file = await write(
      'ok.json',
      `\ufeff${JSON.stringify({ identity: 'id', trust: { file: 't.json' } })}`,
    )
    const c = await loadConfigFile(file)
    expect(c.identity).toBe(join(dir, 'id'))
    expect(c.trust.file).toBe(join(dir, 't.json'))
  })

  it('{ signal }: aborted before or while the file is read, it rejects with AbortError', async () => {
    const file = await write('abort.json', JSON.stringify({ identity: 'id' }))
    await expect(loadConfigFile(file, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    const controller = new AbortController()
    const loading = loadConfigFile(file, { signal: controller.signal })
    controller.abort() // the file system call is in flight
    await expect(loading).rejects.toMatchObject({ name: 'AbortError' })
    // a signal that does not abort changes nothing
    expect((await loadConfigFile(file, { signal: new AbortController().signal })).identity).toBe(
      join(dir, 'id'),
    )
  })

  it('a missing file', async () => {
    await expect(loadConfigFile(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: file does not exist/)
  })

  it('a directory', async () => {
    await mkdir(join(dir, 'sub'))
    await expect(loadConfigFile(join(dir, 'sub'))).rejects.toThrow(/sub: is not a regular file/)
  })

  it('invalid JSON, with line and column', async () => {
    const file = await write('bad.json', '{\n  "name": "a@b",\n  "listen": 4000,,\n}')
    await expect(loadConfigFile(file)).rejects.toThrow(/bad\.json: not valid JSON at line 3 column 18/)
  })

  it('a truncated file', async () => {
    const file = await write('short.json', '{"name": "a@b"')
    await expect(loadConfigFile(file)).rejects.toThrow(/short\.json: not valid JSON/)
  })

  it('an empty file', async () => {
    const file = await write('empty.json', '')
    await expect(loadConfigFile(file)).rejects.toThrow(/empty\.json: not valid JSON/)
  })

  it(`a file over ${MAX_CONFIG_BYTES} bytes`, async () => {
    const file = await write('big.json', Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20))
    await expect(loadConfigFile(file)).rejects.toThrow(/big\.json: file is too large/)
  })

  it('a bad field names the file and the field', async () => {
    const file = await write(
      'field.json',
      JSON.stringify({ discovery: [{ backend: 'etcd', endpoints: 'x' }] }),
    )
    const error = await loadConfigFile(file).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).file).toBe(file)
    expect((error as ConfigError).message).toBe(
      `${file}: discovery[0].endpoints: expected an etcd URL like "http://127.0.0.1:2379", got "x"`,
    )
  })
})

describe('deprecated duration keys', () => {
  it('are renamed (seconds converted), warn once each, and the new name wins', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    try {
      const input = {
        lostHysteresis: 700,
        requestTimeout: 900,
        reconnect: { initialDelay: 10, maxDelay: 20, dialTimeout: 30 },
        discovery: [
          { backend: 'dns', resolvers: '127.0.0.1:53', domain: 'example.test', minTtl: 1, staleAfter: 60 },
          { backend: 'etcd', endpoints: 'http://127.0.0.1:2379', staleLimit: 5000, requestTimeout: 800 },
        ],
      }
      const c = parseConfig(input, { file: 'peer.json' })
      parseConfig(input, { file: 'peer.json' })
      expect(c.lostHysteresisMs).toBe(700)
      expect(c.requestTimeoutMs).toBe(900)
      expect(c.reconnect).toEqual({ initialDelayMs: 10, maxDelayMs: 20, dialTimeoutMs: 30 })
      expect(c.discovery[0]).toMatchObject({ minTtlMs: 1000, staleAfterMs: 60_000 })
      expect(c.discovery[1]).toMatchObject({ staleAfterMs: 5000, requestTimeoutMs: 800 })
      expect(warn).toHaveBeenCalledTimes(9)
      expect(String(warn.mock.calls[0]?.[0])).toMatch(
        /"lostHysteresis" is deprecated; use "lostHysteresisMs"/,
      )
      expect(
        parseConfig({ lostHysteresis: 1, lostHysteresisMs: 2 }, { file: 'peer.json' }).lostHysteresisMs,
      ).toBe(2)
    } finally {
      warn.mockRestore()
    }
  })
})

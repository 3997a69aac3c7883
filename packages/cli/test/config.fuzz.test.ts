// Fuzz: the configuration file (parseJson + parseConfig, as loadConfigFile runs them), fed valid
// configurations built from every section, text mutations of them, and fields replaced by any JSON
// value. Invariants: only ConfigError (exit status 2) listing at most MAX_REPORTED_PROBLEMS + 1
// problems, each `<file>: <field>: <reason>` with a readable field path and no raw JSON position;
// an accepted configuration is complete (defaults applied, absolute paths); a valid file
// round-trips (config -> JSON text -> parse gives back what was written); bounded time.
// See docs/fuzzing.md.
import { isAbsolute } from 'node:path'
import { isNodeId } from '@peer/discovery-core'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { addressArb, hostArb, metaArb, nodeIdArb, nodeNameArb } from '@peer/testkit/fuzz-arbitraries'
import {
  fieldReplaced,
  mutatedText,
  parseOrDocumentedError,
  withinCaseBound,
} from '@peer/testkit/fuzz-inputs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_REPORTED_PROBLEMS, type PeerConfig, parseConfig, parseJson } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

const FILE = '/etc/peer/peer.json'
const SOURCE = { file: FILE, env: { PEER_HOME: '/var/lib/peer' } }

const pathArb = fc.oneof(
  fc.stringMatching(/^\/[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/),
  fc.stringMatching(/^(\.\/)?[a-z0-9_-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/),
)
const hostPortText = ({ host, port }: { host: string; port: number }) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
/** An address as a string or an object. */
const addressInputArb = fc.oneof(addressArb.map(hostPortText), addressArb)
/** A listen address: any valid host, the wildcard addresses included. */
const listenArb = fc.record({ host: hostArb, port: fc.integer({ min: 1, max: 65535 }) })
const ipResolverArb = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([ip, port]) => `[${ip}]:${port}`),
)
const ms = fc.integer({ min: 0, max: 24 * 3600 * 1000 })

const staticArb = fc.oneof(
  fc.record({
    backend: fc.constant('static'),
    peers: fc.array(
      fc.record(
        {
          id: nodeIdArb,
          name: nodeNameArb,
          addresses: fc.array(addressInputArb, { maxLength: 3 }),
          meta: metaArb,
        },
        { requiredKeys: ['id', 'addresses'] },
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record(
    { backend: fc.constant('static'), file: pathArb, watch: fc.boolean() },
    { requiredKeys: ['backend', 'file'] },
  ),
  fc.record({ backend: fc.constant('static'), env: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/) }),
)
const dnsArb = fc.record(
  {
    backend: fc.constant('dns'),
    resolvers: fc.oneof(ipResolverArb, fc.array(ipResolverArb, { minLength: 1, maxLength: 3 })),
    domain: hostArb.filter((h) => !h.includes(':')),
    idSource: fc.constantFrom('txt', 'label', 'txt-or-label'),
    families: fc.constantFrom([4], [6], [4, 6]),
    timeoutMs: ms,
    attempts: fc.integer({ min: 1, max: 10 }),
  },
  { requiredKeys: ['backend', 'resolvers', 'domain'] },
)
const mdnsArb = fc.record(
  {
    backend: fc.constant('mdns'),
    service: fc.stringMatching(/^_[a-z0-9-]{1,15}\._(udp|tcp)$/),
    interfaces: fc.array(fc.stringMatching(/^[a-z0-9]{1,10}$/), { maxLength: 3 }),
    ttl: fc.integer({ min: 1, max: 4500 }),
  },
  { requiredKeys: ['backend'] },
)
const etcdArb = fc.record(
  {
    backend: fc.constant('etcd'),
    endpoints: fc.oneof(
      fc.integer({ min: 1, max: 65535 }).map((p) => `http://127.0.0.1:${p}`),
      fc.array(fc.constantFrom('http://127.0.0.1:2379', 'https://[::1]:2379'), {
        minLength: 1,
        maxLength: 2,
      }),
    ),
    prefix: fc.stringMatching(/^\/[a-z0-9/_-]{0,20}$/),
    ttl: fc.integer({ min: 1, max: 3600 }),
  },
  { requiredKeys: ['backend', 'endpoints'] },
)
/** At most one backend of each kind, in any order. */
const discoveryArb = fc
  .tuple(fc.option(staticArb), fc.option(dnsArb), fc.option(mdnsArb), fc.option(etcdArb))
  .chain((backends) => fc.shuffledSubarray(backends.filter((b) => b !== null)))

const configArb = fc.record(
  {
    name: nodeNameArb,
    identity: fc.oneof(pathArb, fc.record({ keyFile: pathArb, certFile: pathArb })),
    createIdentity: fc.boolean(),
    listen: fc.oneof(
      listenArb.map(hostPortText),
      listenArb,
      fc.tuple(hostArb, fc.constant(0)).map(([host, port]) => ({ host, port })),
    ),
    // addresses peers can dial (addressArb): the unspecified address is refused, see config.test.ts
    advertise: fc.array(addressInputArb, { maxLength: 4 }),
    trust: fc.oneof(
      pathArb,
      fc.record(
        {
          file: pathArb,
          peers: fc.array(
            fc.oneof(
              nodeIdArb,
              fc.record({ id: nodeIdArb, label: fc.string({ maxLength: 20 }) }, { requiredKeys: ['id'] }),
            ),
            { maxLength: 3 },
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    discovery: discoveryArb,
    lostHysteresisMs: ms,
    meta: metaArb,
    requestTimeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
    transport: fc.record({ maxIdleTimeoutMs: ms, keepAliveIntervalMs: ms }, { requiredKeys: [] }),
    reconnect: fc.record(
      {
        initialDelayMs: fc.integer({ min: 1, max: 600_000 }),
        maxDelayMs: fc.integer({ min: 1, max: 3_600_000 }),
      },
      { requiredKeys: [] },
    ),
    log: fc.record(
      { level: fc.constantFrom('debug', 'info', 'warn', 'error'), filter: fc.string({ maxLength: 20 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)

/** A valid configuration with one field replaced by any JSON value (or removed). */
const FIELDS = [
  'name',
  'identity',
  'identity.keyFile',
  'listen',
  'listen.port',
  'advertise',
  'advertise.0',
  'trust',
  'trust.peers',
  'trust.peers.0',
  'discovery',
  'discovery.0',
  'discovery.0.backend',
  'discovery.0.peers.0.addresses.0',
  'discovery.0.resolvers',
  'discovery.0.endpoints',
  'discovery.1.ttl',
  'meta',
  'meta.a',
  'log.level',
  'transport.maxIdleTimeoutMs',
  'unknownKey',
] as const
const fieldMutatedArb = fieldReplaced(configArb, FIELDS).map((doc) => JSON.stringify(doc))

function check(text: string): PeerConfig | undefined {
  const result = withinCaseBound(() =>
    parseOrDocumentedError(() => parseConfig(parseJson(text, FILE), SOURCE), ConfigError),
  )
  if (!result.ok) {
    const e = result.error
    expect(e.exitCode).toBe(2)
    expect(e.file).toBe(FILE)
    expect(e.problems.length).toBeGreaterThan(0)
    expect(e.problems.length).toBeLessThanOrEqual(MAX_REPORTED_PROBLEMS + 1)
    expect(e.field).toBe(e.problems[0]!.field)
    for (const p of e.problems) {
      // a readable path: `a.b[0].c` or `a["odd key"]`
      expect(p.field).toMatch(/^([A-Za-z_$][\w$-]*|\[\d+\]|\[".*"\]|\.[A-Za-z_$][\w$-]*)*$/)
      expect(p.message.length).toBeGreaterThan(3)
      // JSON positions are given as line and column, not as an offset
      expect(p.message).not.toMatch(/at position \d/)
      expect(e.message).toContain(`${FILE}: ${p.field ? `${p.field}: ` : ''}${p.message}`)
    }
    return undefined
  }
  const c = result.value
  expect(typeof c.createIdentity).toBe('boolean')
  expect(['debug', 'info', 'warn', 'error']).toContain(c.log.level)
  const paths = [
    ...(typeof c.identity === 'string' ? [c.identity] : [c.identity.keyFile, c.identity.certFile]),
    ...(c.trust.file === undefined ? [] : [c.trust.file]),
    ...c.discovery.flatMap((b) => (b.backend === 'static' && b.file !== undefined ? [b.file] : [])),
  ]
  for (const p of paths) expect(isAbsolute(p)).toBe(true)
  for (const t of c.trust.peers) expect(isNodeId(t.id)).toBe(true)
  expect(new Set(c.discovery.map((b) => b.backend)).size).toBe(c.discovery.length)
  return c
}

const unbracket = (host: string) => (host.startsWith('[') ? host.slice(1, -1) : host)
const addressOf = (a: string | { host: string; port: number }) => {
  if (typeof a !== 'string') return { host: unbracket(a.host), port: a.port }
  const at = a.lastIndexOf(':')
  return { host: unbracket(a.slice(0, at)), port: Number(a.slice(at + 1)) }
}

describe('configuration file (fuzz)', () => {
  it('reports JSON errors by line and column only, counted without the BOM (fuzzer case "0:")', () => {
    const reason = (text: string) => {
      try {
        parseJson(text, FILE)
      } catch (error) {
        return (error as ConfigError).problems[0]!.message
      }
      throw new Error('expected a ConfigError')
    }
    expect(reason('0:')).toBe(
      'not valid JSON at line 1 column 2: Unexpected non-whitespace character after JSON',
    )
    expect(reason('\ufeff{\n}x')).toBe(
      'not valid JSON at line 2 column 2: Unexpected non-whitespace character after JSON',
    )
  })

  it(
    'valid configurations round-trip through JSON text',
    () => {
      fc.assert(
        fc.property(configArb, fc.constantFrom(0, 2), fc.boolean(), (config, indent, bom) => {
          const text = `${bom ? '\ufeff' : ''}${JSON.stringify(config, null, indent)}`
          const c = check(text)
          expect(c).toBeDefined()
          expect(c!.name).toBe(config.name)
          expect(c!.listen).toEqual(
            config.listen === undefined ? { host: '127.0.0.1', port: 0 } : addressOf(config.listen),
          )
          expect(c!.advertise).toEqual(config.advertise?.map(addressOf))
          expect(c!.discovery.map((b) => b.backend)).toEqual((config.discovery ?? []).map((b) => b.backend))
          expect(c!.meta).toEqual(config.meta)
          expect(c!.log.level).toBe(config.log?.level ?? 'warn')
          expect(c!.lostHysteresisMs).toBe(config.lostHysteresisMs)
          const trustIds =
            typeof config.trust === 'object'
              ? (config.trust.peers ?? []).map((p) => (typeof p === 'string' ? p : p.id))
              : []
          expect(c!.trust.peers.map((p) => p.id)).toEqual(trustIds)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'mutated configuration text: a complete configuration or a ConfigError listing readable problems',
    () => {
      fc.assert(
        fc.property(
          mutatedText(
            configArb.map((c) => JSON.stringify(c, null, 2)),
            5,
          ),
          (text) => void check(text),
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'fields replaced by any JSON value, and arbitrary JSON documents: a complete configuration or a ConfigError',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fieldMutatedArb,
            fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
            fc.string({ maxLength: 60 }),
          ),
          (text) => void check(text),
        ),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

// Property tests of everything that reads mDNS bytes from the network (issue 12, item 13):
// random bytes and mutated valid packets go through the receive path (rate limit, header check,
// decoder, querier, responder, announcer) without throwing, are dropped and counted, in bounded
// time and within the cache bounds; valid packets and TXT records round-trip. Seeded
// (PEER_FUZZ_SEED), PEER_FUZZ_RUNS cases (pnpm fuzz runs 100,000).
import type { RemoteInfo } from 'node:dgram'
import { silentLogger } from '@peer/discovery-core'
import { fuzzParams, fuzzTimeoutMs } from '@peer/testkit/fuzz'
import { expectDocumentedError, withinCaseBound } from '@peer/testkit/fuzz-inputs'
import { testId } from '@peer/testkit/ids'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Announcer } from '../src/announcer.js'
import { emptyStats, type MdnsContext, newSocketState } from '../src/context.js'
import {
  checkHeader,
  type DnsPacket,
  type DnsRecord,
  decodePacket,
  decodeTxt,
  encodePacket,
  encodeTxt,
  escapeLabel,
  type MdnsInterface,
  WireFormatError,
} from '../src/index.js'
import { type InterfaceSocket, PacketIntake } from '../src/internal.js'
import { Querier } from '../src/querier.js'
import { Responder } from '../src/responder.js'
import { ServiceCache } from '../src/service-cache.js'

const rinfo: RemoteInfo = { address: '10.0.0.2', port: 5353, family: 'IPv4', size: 0 }
const SERVICE = '_peer._udp.local'

/** A label: arbitrary text (dots, spaces, backslashes, UTF-8) of 1-63 UTF-8 bytes. */
const label = fc
  .string({
    unit: fc.constantFrom('a', 'Z', '.', ' ', '\\', '@', 'é', '☕', '-', '0'),
    minLength: 1,
    maxLength: 20,
  })
  .map(escapeLabel)
const instanceName = label.map((l) => `${l}.${SERVICE}`)
const hostName = label.map((l) => `${l}.local`)
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'))
const ipv6 = fc.ipV6().map((a) => a)
const ttl = fc.nat(5000)

const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name: fc.constant(SERVICE), type: fc.constant('PTR'), ttl, data: instanceName }),
  fc.record({
    name: instanceName,
    type: fc.constant('SRV'),
    ttl,
    flush: fc.boolean(),
    data: fc.record({
      target: hostName,
      port: fc.nat(65535),
      priority: fc.nat(65535),
      weight: fc.nat(65535),
    }),
  }),
  fc.record({
    name: instanceName,
    type: fc.constant('TXT'),
    ttl,
    flush: fc.boolean(),
    data: fc.array(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      { minLength: 1, maxLength: 5 },
    ),
  }),
  fc.record({ name: hostName, type: fc.constant('A'), ttl, flush: fc.boolean(), data: ipv4 }),
  fc.record({ name: hostName, type: fc.constant('AAAA'), ttl, flush: fc.boolean(), data: ipv6 }),
)
const packet: fc.Arbitrary<DnsPacket> = fc.record({
  type: fc.constantFrom('query' as const, 'response' as const),
  id: fc.nat(65535),
  flags: fc.constantFrom(0, 0x400),
  questions: fc.array(
    fc.record({
      name: fc.oneof(instanceName, hostName),
      type: fc.constantFrom('PTR', 'SRV', 'TXT', 'A', 'ANY'),
      qu: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 2 }),
  additionals: fc.array(record, { maxLength: 4 }),
})

/** A valid packet with some of its bytes overwritten, cut short or extended. */
const mutated = fc
  .tuple(
    packet,
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([p, flips, cut]) => {
    const bytes = Buffer.from(encodePacket(p))
    for (const [at, value] of flips) bytes[at % bytes.length] = value
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1))
  })

const bytes = fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated)

/** Canonical form of a decoded record, for round-trip comparison. */
const canonical = (r: DnsRecord) => ({
  name: r.name,
  type: r.type,
  ttl: r.ttl ?? 0,
  flush: r.flush ?? false,
  data: r.type === 'TXT' ? (r.data as Buffer[]).map((b) => b.toString('hex')) : r.data,
})

describe('mDNS codec properties', () => {
  it(
    'decodes or throws WireFormatError for any bytes, in bounded time',
    () => {
      fc.assert(
        fc.property(bytes, (buf) => {
          withinCaseBound(() => {
            try {
              decodePacket(buf)
            } catch (error) {
              expectDocumentedError(error, WireFormatError)
            }
          }, 200)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'round-trips valid packets byte-exactly (names with dots, spaces, backslashes and UTF-8)',
    () => {
      fc.assert(
        fc.property(packet, (p) => {
          const back = decodePacket(encodePacket(p))
          expect(back.type).toBe(p.type)
          expect(back.id).toBe(p.id)
          expect(back.questions!.map((q) => [q.name, q.type, q.qu])).toEqual(
            p.questions!.map((q) => [q.name, q.type, q.qu]),
          )
          for (const section of ['answers', 'authorities', 'additionals'] as const) {
            expect(back[section]!.map(canonical)).toEqual(
              p[section]!.map((r) => ({
                ...canonical(r),
                data:
                  r.type === 'AAAA'
                    ? decodePacket(encodePacket({ answers: [r] })).answers![0]!.data
                    : canonical(r).data,
              })),
            )
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'rate-limits and checks the header before decoding: an implausible header never reaches the decoder',
    () => {
      fc.assert(
        fc.property(fc.array(bytes, { maxLength: 12 }), (datagrams) => {
          let decoded = 0
          const intake = new PacketIntake({
            maxPacketsPerSecond: 3,
            onLink: () => true,
            now: () => 0,
            decode: (b) => {
              decoded++
              return decodePacket(b)
            },
          })
          let expectedDecodes = 0
          let accepted = 0
          for (const d of datagrams) {
            const result = intake.accept(d, rinfo)
            if (accepted < 3) {
              accepted++
              if (checkHeader(d) === undefined) expectedDecodes++
              else expect(result).toMatchObject({ ok: false, reason: 'implausible' })
            } else expect(result).toMatchObject({ ok: false, reason: 'flood' })
          }
          expect(decoded).toBe(expectedDecodes)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

describe('TXT properties', () => {
  it(
    'decodes any TXT strings without throwing, within the limits',
    () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 100 }), (strings) => {
          const { entries, problems } = decodeTxt(strings)
          expect(entries.size).toBeLessThanOrEqual(64)
          expect(Array.isArray(problems)).toBe(true)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )

  it(
    'round-trips valid meta',
    () => {
      const key = fc
        .stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/)
        .filter((k) => !['id', 'name', 'pv'].includes(k))
      const value = fc.string({ maxLength: 40 }).filter((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v))
      fc.assert(
        fc.property(fc.dictionary(key, value, { maxKeys: 10 }), (meta) => {
          const id = testId('txt-fuzz')
          const decoded = decodeTxt(encodeTxt({ id, name: 'a@b', addresses: [], meta }))
          expect(decoded.problems).toEqual([])
          expect(
            Object.fromEntries([...decoded.entries].filter(([k]) => !['id', 'name', 'pv'].includes(k))),
          ).toEqual(meta)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeoutMs(),
  )
})

describe('receive path properties', () => {
  const iface: MdnsInterface = {
    name: 'eth0',
    loopback: false,
    ipv4: [{ address: '10.0.0.1', family: 4, prefixLength: 24, linkLocal: false }],
    ipv6: [],
  }
  /** The querier, responder and announcer over a context whose socket only collects what is sent. */
  function pipeline() {
    const sent: DnsPacket[] = []
    const socket = { iface, family: 4 } as unknown as InterfaceSocket
    const state = newSocketState('eth0/4', socket)
    const stats = emptyStats()
    let invalid = 0
    const ctx: MdnsContext = {
      serviceName: SERVICE,
      port: 5353,
      stats,
      log: silentLogger('fuzz'),
      running: () => true,
      sockets: () => [state],
      socket: () => state,
      interfaces: () => [iface],
      send: async (_s, p) => {
        sent.push(p)
      },
      later: () => {},
      countInvalid: () => {
        invalid++
      },
      reportError: (e) => {
        throw e
      },
    }
    const cache = new ServiceCache({ maxInstances: 8, maxPending: 8, maxHosts: 8, maxAddressesPerHost: 4 })
    const reported = new Map<string, unknown>()
    const querier = new Querier(
      ctx,
      {
        resolveTimeout: 1000,
        maxQueryInterval: 60_000,
        txtLimits: { maxBytes: 1300, maxEntries: 64 },
        recordLimits: {},
        reportPeer: (r) => {
          const id = (r as { id?: unknown }).id
          if (typeof id !== 'string' || !/^[0-9a-z]{20,}$/i.test(id)) {
            invalid++
            return undefined
          }
          reported.set(id, r)
          return r as never
        },
        reportLost: (id) => reported.delete(id),
      },
      cache,
    )
    const announcer = new Announcer(ctx, { ttl: 120, serviceTtl: 4500, probe: true, announcements: 1 })
    const self = { id: testId('fuzz-self'), name: 'self@fuzz', addresses: [{ host: '0.0.0.0', port: 4000 }] }
    const a = announcer.create(self, encodeTxt(self), 4000, 'self@fuzz')
    a.state = 'announced'
    announcer.current = a
    const responder = new Responder(ctx, announcer)
    const intake = new PacketIntake({ maxPacketsPerSecond: 1e9, onLink: () => true })
    let now = 1_000_000
    const receive = (buf: Uint8Array) => {
      const result = intake.accept(buf, rinfo)
      if (!result.ok) return false
      const p = result.packet
      if (p.type === 'query') {
        responder.noteForeignQuery(state, p, rinfo, now)
        responder.onQuery(state, p, rinfo)
      } else {
        announcer.checkResponse([...(p.answers ?? []), ...(p.additionals ?? [])])
        querier.onResponse(state, p, now)
      }
      return true
    }
    const tick = (ms: number) => {
      now += ms
      querier.tick(now)
    }
    return { receive, tick, cache, sent, invalid: () => invalid, a }
  }

  it(
    'never throws for random bytes or mutated packets, stays within its bounds, and drains',
    () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              bytes,
              packet.map((p) => encodePacket(p)),
            ),
            { maxLength: 30 },
          ),
          (datagrams) => {
            // a fresh pipeline per run: a slow run is run again (see withinCaseBound)
            withinCaseBound(() => {
              const p = pipeline()
              for (const d of datagrams) {
                p.receive(d)
                expect(p.cache.counts.pending).toBeLessThanOrEqual(8)
                expect(p.cache.counts.resolved).toBeLessThanOrEqual(8)
                expect(p.cache.hosts.size).toBeLessThanOrEqual(8)
              }
              p.tick(250)
              for (const s of p.sent) expect(encodePacket(s).length).toBeLessThanOrEqual(9000)
              // every entry expires by its TTL or the resolve deadline, whatever records it has
              p.tick(6_000_000)
              p.tick(250)
              expect(p.cache.instances.size).toBe(0)
            }, 2000)
          },
        ),
        fuzzParams(500),
      )
    },
    fuzzTimeoutMs(500, 20),
  )
})

// Issue 12 item 11: one UDP socket per resolver with many queries in flight on it, renewed (new
// source port) every `queriesPerSocket` queries; the additional section saves address queries.
import { createSocket, type Socket, type SocketType } from 'node:dgram'
import { testId } from '@peer/testkit/ids'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CachingResolver, DnsClient, ServiceResolver } from '../src/index.js'
import { type Dns2TestServer, startDns2Server, type ZoneRecord } from './support/dns2-server.js'
import { DOMAIN, SERVICE } from './support/fixtures.js'

const TARGETS = 60
let server: Dns2TestServer
let client: DnsClient | undefined

beforeEach(async () => {
  server = await startDns2Server()
  const records: ZoneRecord[] = []
  for (let i = 0; i < TARGETS; i++) {
    const target = `n${i}.${DOMAIN}`
    records.push({ name: SERVICE, type: 'SRV', target, port: 4000 + i })
    records.push({ name: target, type: 'TXT', strings: [`id=${testId(`sock-${i}`)}`] })
    records.push({ name: target, type: 'A', address: `127.0.4.${i + 1}` })
    records.push({ name: target, type: 'AAAA', address: `::4:${i + 1}` })
  }
  server.records = records
})

afterEach(async () => {
  client?.close()
  client = undefined
  await server.close()
})

/** A socket factory that counts sockets and the most queries in flight at once. */
function countingFactory() {
  const sockets: Socket[] = []
  let inFlight = 0
  let maxInFlight = 0
  const factory = (type: SocketType) => {
    const socket = createSocket(type)
    sockets.push(socket)
    const send = socket.send.bind(socket) as (...args: unknown[]) => void
    socket.send = ((...args: unknown[]) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      send(...args)
    }) as Socket['send']
    socket.on('message', () => {
      inFlight = Math.max(0, inFlight - 1)
    })
    return socket
  }
  return { factory, sockets, maxInFlight: () => maxInFlight }
}

function resolve(c: DnsClient, concurrency = 16) {
  const cache = new CachingResolver(c, { minTtl: 1, maxTtl: 60, negativeTtl: 5, maxNegativeTtl: 60 })
  const resolver = new ServiceResolver(cache, {
    idSource: 'txt-or-label',
    families: [4, 6],
    txtLimits: { maxMetaEntries: 32, maxMetaKeyLength: 64, maxMetaValueLength: 255 },
    maxAddresses: 16,
    maxSrvRecords: 1000,
    concurrency,
    seed: 1,
  })
  return { cache, answer: resolver.resolveService(SERVICE) }
}

describe('UDP sockets per resolver', () => {
  it('a 60-target resolution goes through a bounded number of sockets, many queries in flight on each', async () => {
    const counting = countingFactory()
    client = new DnsClient({ resolvers: [server.address], createSocket: counting.factory, timeoutMs: 5000 })
    const { answer } = resolve(client)
    const result = await answer
    expect(result.kind === 'present' && result.candidates.length).toBe(TARGETS)
    const udp = server.queries.filter((q) => q.transport === 'udp')
    // SRV, then TXT, A and AAAA of every target (the SRV answer is too big for UDP: TC, then TCP)
    expect(udp.length).toBe(1 + TARGETS * 3)
    const bound = Math.ceil(udp.length / 100)
    expect(client.stats.udpSockets).toBe(counting.sockets.length)
    expect(counting.sockets.length).toBeLessThanOrEqual(bound)
    expect(new Set(udp.map((q) => q.port)).size).toBeLessThanOrEqual(bound)
    // pipelined: far more than one query in flight on a socket at once
    expect(counting.maxInFlight()).toBeGreaterThan(8)
  }, 60_000)

  it('renews the socket (a new source port) every queriesPerSocket queries, with distinct ids in flight', async () => {
    client = new DnsClient({ resolvers: [server.address], queriesPerSocket: 20, timeoutMs: 5000 })
    const { answer } = resolve(client)
    await answer
    const udp = server.queries.filter((q) => q.transport === 'udp')
    const ports = new Set(udp.map((q) => q.port))
    expect(client.stats.udpSockets).toBe(Math.ceil(udp.length / 20))
    expect(ports.size).toBe(client.stats.udpSockets)
    // every port carried at most 20 queries, and ids are spread out (not a counter)
    for (const port of ports) expect(udp.filter((q) => q.port === port).length).toBeLessThanOrEqual(20)
    expect(new Set(udp.map((q) => q.id)).size).toBeGreaterThan(udp.length * 0.9)
  }, 60_000)

  it('uses the A/AAAA records of the additional section instead of asking for them', async () => {
    server.additionals = true
    client = new DnsClient({ resolvers: [server.address], udpPayloadSize: 65_000, timeoutMs: 5000 })
    const { cache, answer } = resolve(client)
    const result = await answer
    expect(result.kind === 'present' && result.candidates.length).toBe(TARGETS)
    expect(server.queries.filter((q) => q.type === 'A' || q.type === 'AAAA')).toHaveLength(0)
    expect(cache.counters.primed).toBe(TARGETS * 2)
    expect(client.stats.tcpQueries).toBe(0)
  }, 60_000)

  it('closes its socket when idle and when closed, and opens a new one for the next query', async () => {
    const counting = countingFactory()
    client = new DnsClient({
      resolvers: [server.address],
      createSocket: counting.factory,
      idleCloseMs: 50,
      timeoutMs: 5000,
    })
    await client.query(`n1.${DOMAIN}`, 'A')
    const closed = new Promise((r) => counting.sockets[0]!.once('close', r))
    await closed // idle for 50 ms
    await client.query(`n2.${DOMAIN}`, 'A')
    expect(counting.sockets).toHaveLength(2)
    const second = new Promise((r) => counting.sockets[1]!.once('close', r))
    client.close()
    await second
  }, 30_000)
})

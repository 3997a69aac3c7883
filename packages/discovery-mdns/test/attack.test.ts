// mDNS under attack (issue 12, items 4-7), each in a namespace the test creates: junk records that
// used to deny discovery for good, headers that used to cost CPU before the rate limit,
// oversized refresh queries, spoofed goodbyes and records, and an attacker that answers every
// probe. Each test fails on the code before its fix.
import { testId } from '@peer/testkit/ids'
import type { BackendHost } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { FLAG_TC, MAX_MDNS_MESSAGE } from '../src/index.js'
import { createRemote, hostInNamespace, mdnsStats } from './helpers/harness.js'
import { b64, instanceRecords, type JsonRecord, SERVICE, sendResponses, sniff } from './helpers/packets.js'

type CacheSize = { instances: number; hosts: number; resolved: number; pending: number }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const chunks = <T>(xs: T[], n: number) =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n))

describe('mDNS under attack', () => {
  let host!: BackendHost
  hostInNamespace('mdns-attack', (h) => {
    host = h
  })

  it('junk SRV-only, TXT-only and port-0 records cannot deny discovery, and every entry expires', async () => {
    const node = await createRemote(host, {
      ttl: 30,
      resolveTimeoutMs: 1500,
      maxInstances: 16,
      maxPendingInstances: 16,
      maxPacketsPerSecond: 100_000,
    })
    await node.start()
    const rec = recordEvents(node, ['peer:discovered', 'peer:lost'])
    await sendResponses(host, [instanceRecords('early')])
    await waitFor(() => node.lookup(testId('early')), { what: 'early node discovered' })
    // ~300 junk packets: SRV-only and TXT-only records under new instance names, SRVs with port 0
    const junk: JsonRecord[][] = []
    for (let i = 0; i < 100; i++) {
      junk.push([
        {
          name: `junk-srv-${i}.${SERVICE}`,
          type: 'SRV',
          ttl: 4500,
          data: { target: `junk-${i}.local`, port: 7000, priority: 0, weight: 0 },
        },
      ])
      junk.push([
        { name: `junk-txt-${i}.${SERVICE}`, type: 'TXT', ttl: 4500, data: [b64(`id=${testId(`j${i}`)}`)] },
      ])
      junk.push([
        {
          name: `junk-zero-${i}.${SERVICE}`,
          type: 'SRV',
          ttl: 4500,
          data: { target: `junk-zero-${i}.local`, port: 0, priority: 0, weight: 0 },
        },
      ])
    }
    for (const batch of chunks(junk, 50)) await sendResponses(host, batch)
    await waitFor(async () => (await mdnsStats(node)).cacheEvictions > 0, {
      what: 'junk to fill the pending budget',
    })
    const size = await node.extra<CacheSize>('cacheSize')
    expect(size.pending).toBeLessThanOrEqual(16)
    // what was learned legitimately stays, and a new node is still discovered
    expect(size.resolved).toBe(1)
    expect(await node.lookup(testId('early'))).toBeDefined()
    await sendResponses(host, [instanceRecords('late')])
    await waitFor(() => node.lookup(testId('late')), { what: 'late node discovered after the junk' })
    // junk entries expire by the resolve deadline, whatever records they have
    await waitFor(async () => (await node.extra<CacheSize>('cacheSize')).pending === 0, {
      timeoutMs: 10_000,
      what: 'pending junk entries to expire',
    })
    expect((await node.extra<CacheSize>('cacheSize')).resolved).toBe(2)
    expect(rec.of('peer:lost')).toEqual([])
    // a port-0 SRV creates no entry at all
    await sendResponses(host, [
      [{ name: `zero-only.${SERVICE}`, type: 'SRV', ttl: 4500, data: { target: 'z.local', port: 0 } }],
    ])
    await sleep(100)
    expect((await node.extra<CacheSize>('cacheSize')).pending).toBe(0)
    rec.stop()
    await node.stop()
  }, 60_000)

  it('drops a header whose section counts cannot fit the datagram before decoding it, and counts it', async () => {
    const node = await createRemote(host, { ttl: 30 })
    await node.start()
    const before = await mdnsStats(node)
    const header = Buffer.from([0, 0, 0x84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    // also a full-size datagram whose counts still cannot fit (65535 x 5 bytes of questions)
    const big = Buffer.concat([header, Buffer.alloc(1200)])
    // in rounds, so that the kernel's receive buffer never overflows
    for (let round = 1; round <= 10; round++) {
      await host.child.call('flood', {
        packets: [header.toString('base64'), big.toString('base64')],
        count: 20,
      })
      await waitFor(
        async () => (await mdnsStats(node)).implausiblePackets >= before.implausiblePackets + 20 * round,
        { what: `${20 * round} implausible headers counted` },
      )
    }
    const after = await mdnsStats(node)
    expect(after.malformedPackets - before.malformedPackets).toBe(200)
    // none of them reached the decoder (the node's own few queries may have)
    expect(after.packetsDecoded - before.packetsDecoded).toBeLessThan(10)
    await node.stop()
  })

  it('splits refresh and browse queries for many known instances into messages of at most 9000 bytes', async () => {
    const node = await createRemote(host, { ttl: 30, maxInstances: 1000, maxPacketsPerSecond: 100_000 })
    await node.start()
    const sniffer = await sniff(host)
    // 600 instances with long names and a short TTL: their refresh (SRV, TXT, A) is due together
    const labels = Array.from(
      { length: 600 },
      (_, i) => `many-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`,
    )
    const packets = chunks(labels, 10).map((group) => group.flatMap((l) => instanceRecords(l, { ttl: 6 })))
    await sendResponses(host, packets)
    await waitFor(async () => (await node.extra<CacheSize>('cacheSize')).resolved === 600, {
      timeoutMs: 20_000,
      what: '600 instances resolved',
    })
    const ours = (xs: Awaited<ReturnType<typeof sniffer.read>>) =>
      xs.filter((p) => p.type === 'query' && p.questions.some((q) => q.name.startsWith('many-')))
    await waitFor(
      async () => ours(await sniffer.read()).reduce((n, p) => n + p.questions.length, 0) >= 1800,
      { timeoutMs: 20_000, what: 'refresh questions for 600 instances' },
    )
    const queries = (await sniffer.read()).filter((p) => p.type === 'query')
    await sniffer.stop()
    expect(Math.max(...queries.map((p) => p.size))).toBeGreaterThan(4000)
    for (const p of queries) expect(p.size).toBeLessThanOrEqual(MAX_MDNS_MESSAGE)
    await node.stop()
  }, 60_000)

  it('splits a browse query with many known answers, continuing them with the TC bit', async () => {
    const node = await createRemote(host, { ttl: 120, maxInstances: 1000, maxPacketsPerSecond: 100_000 })
    await node.start()
    const labels = Array.from(
      { length: 400 },
      (_, i) => `known-${String(i).padStart(3, '0')}-${'y'.repeat(40)}`,
    )
    await sendResponses(
      host,
      chunks(labels, 10).map((group) => group.flatMap((l) => instanceRecords(l, { ttl: 120 }))),
    )
    await waitFor(async () => (await node.extra<CacheSize>('cacheSize')).resolved === 400, {
      timeoutMs: 20_000,
      what: '400 instances resolved',
    })
    const sniffer = await sniff(host)
    // the next browse query (back-off: 1, 2, 4, 8, 16 s after start) lists 400 known answers
    await waitFor(
      async () => (await sniffer.read()).some((p) => p.type === 'query' && (p.flags & FLAG_TC) !== 0),
      { timeoutMs: 40_000, intervalMs: 250, what: 'a browse query continued with TC' },
    )
    await sleep(500)
    const queries = (await sniffer.read()).filter((p) => p.type === 'query')
    await sniffer.stop()
    for (const p of queries) expect(p.size).toBeLessThanOrEqual(MAX_MDNS_MESSAGE)
    const known = queries.flatMap((p) => p.answers).filter((a) => a.type === 'PTR')
    expect(new Set(known.map((a) => a.data)).size).toBe(400)
    await node.stop()
  }, 60_000)
})

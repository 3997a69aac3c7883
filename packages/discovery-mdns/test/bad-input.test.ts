// Bad input from the network is dropped and counted, never reported and never a crash: malformed
// packets, binary or oversized TXT, records pointing nowhere, wrong source ports, floods, and more
// instances than the cache holds. One test per case; each ends by checking the node still works.
import { MAX_SERVICES } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { createNetns, type Netns } from '@peer/testkit/netns'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { MdnsStats } from '../src/index.js'
import { createRemote, mdnsStats, startHost, TRUNCATED_PACKET } from './helpers/harness.js'

const SERVICE = '_peer._udp.local'
type PeerRecord = { readonly addresses: ReadonlyArray<{ host: string; port: number }> }
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')

/** A DNS-SD response for one instance; TXT strings are given as base64. */
function service(
  label: string,
  opts: { txt?: string[]; port?: number; host?: string; address?: string | null; ttl?: number } = {},
) {
  const instance = `${label}.${SERVICE}`
  const host = opts.host ?? `${label}-host.local`
  const ttl = opts.ttl ?? 30
  const answers = [
    { name: SERVICE, type: 'PTR', ttl, data: instance },
    {
      name: instance,
      type: 'SRV',
      ttl,
      flush: true,
      data: { target: host, port: opts.port ?? 9000, priority: 0, weight: 0 },
    },
    {
      name: instance,
      type: 'TXT',
      ttl,
      flush: true,
      data: opts.txt ?? [b64(`id=${testId(label)}`), b64(`name=${label}@bad`)],
    },
  ]
  if (opts.address !== null)
    answers.push({ name: host, type: 'A', ttl, flush: true, data: opts.address ?? '127.0.0.9' } as never)
  return { type: 'response' as const, answers }
}

describe('bad input', () => {
  let ns: Netns
  let host: BackendHost
  let node: RemoteBackend
  let before: MdnsStats
  let beforeInvalid: number
  beforeAll(async () => {
    ns = await createNetns({ label: 'mdns-bad' })
    host = await startHost(ns)
    node = await createRemote(host, {
      ttl: 30,
      resolveTimeoutMs: 1200,
      maxInstances: 8,
      maxPacketsPerSecond: 200,
    })
    await node.start()
  })
  afterAll(async () => {
    await host?.close()
    await ns?.delete()
  })
  beforeEach(async () => {
    before = await mdnsStats(node)
    beforeInvalid = node.stats.invalidRecords
  })
  const send = (packet: unknown, fromPort?: number) => host.child.call('sendPacket', { packet, fromPort })
  const stillWorks = async (label: string) => {
    const rec = recordEvents(node, ['peer:discovered'])
    await send(service(label))
    await waitFor(
      () =>
        rec
          .of('peer:discovered')
          .some((e) => (e.detail as { record: { id: string } }).record.id === testId(label)),
      {
        what: `a valid service (${label}) to be discovered afterwards`,
      },
    )
    rec.stop()
  }

  it('drops and counts a datagram that is not a DNS message', async () => {
    await host.child.call('sendRaw', {
      packets: [TRUNCATED_PACKET.toString('base64'), b64('\u0000\u0001garbage')],
    })
    await waitFor(async () => (await mdnsStats(node)).malformedPackets >= before.malformedPackets + 2, {
      what: 'malformed count',
    })
    await waitFor(() => node.stats.invalidRecords >= beforeInvalid + 2, { what: 'invalidRecords' })
    await stillWorks('after-malformed')
  })

  it('drops binary and malformed TXT strings but keeps the peer', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    const txt = [
      b64(`id=${testId('binary-txt')}`),
      Buffer.from([0x63, 0x3d, 0xff, 0xfe, 0x00]).toString('base64'), // c=<invalid UTF-8>
      b64('=novalue'),
      b64('ctl=a\u0001b'),
      b64('ok=yes'),
    ]
    await send(service('binary-txt', { txt }))
    await waitFor(() => rec.of('peer:discovered').length > 0, { what: 'peer with some bad TXT strings' })
    const { record } = rec.of('peer:discovered')[0]!.detail as { record: { meta: Record<string, string> } }
    expect(record.meta).toEqual({ ok: 'yes' })
    expect((await mdnsStats(node)).badTxt).toBe(before.badTxt + 3)
  })

  it('drops and counts bad service names and an oversized service list, keeping the peer (issue 15)', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    const tooMany = Array.from({ length: MAX_SERVICES + 1 }, (_, i) => `s${i}`).join(',')
    await send(
      service('bad-services', {
        txt: [b64(`id=${testId('bad-services')}`), b64('services=kv,Bad_Upper,,ok.v1')],
      }),
    )
    await send(
      service('big-services', {
        txt: [b64(`id=${testId('big-services')}`), b64(`services=${tooMany}`), b64('zone=eu')],
      }),
    )
    await waitFor(() => rec.of('peer:discovered').length === 2, { what: 'both peers' })
    const meta = new Map(
      rec.of('peer:discovered').map((e) => {
        const { record } = e.detail as { record: { id: string; meta?: Record<string, string> } }
        return [record.id, record.meta]
      }),
    )
    expect(meta.get(testId('bad-services'))).toEqual({ services: 'kv,ok.v1' })
    expect(meta.get(testId('big-services'))).toEqual({ zone: 'eu' })
    const after = await mdnsStats(node)
    expect(after.droppedServiceNames).toBe(before.droppedServiceNames + 2)
    expect(after.droppedServiceLists).toBe(before.droppedServiceLists + 1)
    // counted by the shared base class, under the same names every backend uses (the remote's
    // stats are pushed when they change)
    await waitFor(
      () =>
        node.stats.droppedServiceNames === after.droppedServiceNames &&
        node.stats.droppedServiceLists === after.droppedServiceLists,
      { what: 'the base stats' },
    )
  })

  it('drops and counts an oversized TXT record whole (no id: not reported)', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    const big = Array.from({ length: 40 }, (_, i) => b64(`k${i}=${'x'.repeat(240)}`))
    await send(service('oversized-txt', { txt: [b64(`id=${testId('oversized-txt')}`), ...big] }))
    await waitFor(async () => (await mdnsStats(node)).badTxt > before.badTxt, {
      what: 'oversized TXT counted',
    })
    await new Promise((r) => setTimeout(r, 300))
    expect(rec.of('peer:discovered')).toEqual([])
    await waitFor(() => node.stats.invalidRecords > beforeInvalid, { what: 'invalidRecords' })
  })

  it('drops and counts a TXT without a valid node id', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    await send(service('bad-id', { txt: [b64('id=not-a-node-id'), b64('name=x@y')] }))
    await waitFor(() => node.stats.invalidRecords > beforeInvalid, { what: 'invalid id counted' })
    await new Promise((r) => setTimeout(r, 300))
    expect(rec.of('peer:discovered')).toEqual([])
  })

  it('drops and counts an unsupported protocol version', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    await send(service('pv2', { txt: [b64(`id=${testId('pv2')}`), b64('pv=2')] }))
    await waitFor(() => node.stats.invalidRecords > beforeInvalid, { what: 'pv=2 counted' })
    expect(rec.of('peer:discovered')).toEqual([])
  })

  it('drops and counts records pointing nowhere (PTR without SRV/TXT, SRV without address)', async () => {
    const rec = recordEvents(node, ['peer:discovered'])
    await send({
      type: 'response',
      answers: [{ name: SERVICE, type: 'PTR', ttl: 30, data: `dangling.${SERVICE}` }],
    })
    await send(service('no-address', { address: null }))
    await send({
      type: 'response',
      answers: [{ name: SERVICE, type: 'PTR', ttl: 30, data: 'elsewhere._other._tcp.local' }],
    })
    await waitFor(async () => (await mdnsStats(node)).unresolvable >= before.unresolvable + 2, {
      timeoutMs: 6000,
      what: 'two unresolvable instances',
    })
    await waitFor(() => node.stats.invalidRecords >= beforeInvalid + 3, { what: 'invalidRecords' })
    expect(rec.of('peer:discovered')).toEqual([])
  })

  it("drops and counts an address no peer can be dialed at (0.0.0.0, multicast), keeping the host's others", async () => {
    // one forged A record must not cost a peer its good addresses (the whole record used to go)
    const rec = recordEvents(node, ['peer:discovered'])
    const mixed = service('undialable-mixed')
    const extra = (data: string) => ({ name: 'undialable-mixed-host.local', type: 'A', ttl: 30, data })
    await send({ ...mixed, answers: [...mixed.answers, extra('0.0.0.0'), extra('224.0.0.251')] })
    await waitFor(() => rec.of('peer:discovered').length > 0, { what: 'the peer, with its good address' })
    const { record } = rec.of('peer:discovered')[0]!.detail as { record: PeerRecord }
    expect(record.addresses).toEqual([{ host: '127.0.0.9', port: 9000 }])
    expect(node.stats.invalidRecords).toBeGreaterThanOrEqual(beforeInvalid + 2) // (a late drop of an earlier test may add one)
    // a host with no other address: nothing to report
    await send(service('undialable-only', { address: '0.0.0.0' }))
    await waitFor(() => node.stats.invalidRecords >= beforeInvalid + 3, { what: 'the third drop counted' })
    await stillWorks('after-undialable')
    expect(await node.lookup(testId('undialable-only'))).toBeUndefined()
  })

  it('drops and counts an SRV with port 0', async () => {
    await send(service('port-zero', { port: 0 }))
    await waitFor(() => node.stats.invalidRecords > beforeInvalid, { what: 'port 0 counted' })
    expect(await node.lookup(testId('port-zero'))).toBeUndefined()
  })

  it('ignores responses whose source port is not 5353', async () => {
    await send(service('wrong-port'), 5454)
    await waitFor(async () => (await mdnsStats(node)).badSourcePort > before.badSourcePort, {
      what: 'bad source port',
    })
    expect(await node.lookup(testId('wrong-port'))).toBeUndefined()
  })

  it('keeps at most maxPendingInstances half-resolved instances in its cache, the oldest making room', async () => {
    for (let i = 0; i < 20; i++) {
      await send({
        type: 'response',
        answers: [{ name: SERVICE, type: 'PTR', ttl: 30, data: `filler-${i}.${SERVICE}` }],
      })
    }
    await waitFor(async () => (await mdnsStats(node)).cacheEvictions > before.cacheEvictions, {
      what: 'cache eviction',
    })
    const size = await node.extra<{ instances: number; pending: number }>('cacheSize')
    expect(size.pending).toBeLessThanOrEqual(8)
    // the fillers are dropped after the resolve timeout, making room again
    await waitFor(async () => (await node.extra<{ instances: number }>('cacheSize')).instances < 8, {
      timeoutMs: 6000,
      what: 'cache to drain',
    })
    await stillWorks('after-cache-full')
  })

  it('drops a flood beyond maxPacketsPerSecond and keeps working', async () => {
    const query = Buffer.from('000000000001000000000000055f70656572045f756470056c6f63616c00000c0001', 'hex')
    await host.child.call(
      'flood',
      { packets: [query.toString('base64')], count: 2000 },
      { timeoutMs: 30_000 },
    )
    await waitFor(async () => (await mdnsStats(node)).floodDrops > before.floodDrops, { what: 'flood drops' })
    const after = await mdnsStats(node)
    expect(after.packetsReceived - before.packetsReceived).toBeLessThan(2000)
    await new Promise((r) => setTimeout(r, 1100))
    await stillWorks('after-flood')
  })
})

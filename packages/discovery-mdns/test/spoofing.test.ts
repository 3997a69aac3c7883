// Spoofed goodbyes and records, and renames forced by an attacker (issue 12, item 7), plus what
// packet captures showed of the wire behaviour (item 9): NSEC for types we lack, QU probes, and
// the service-type PTR in goodbyes. Everything runs in a namespace the test creates; the raw
// sniffer decodes with the package's codec.
import { testId } from '@peer/testkit/ids'
import type { BackendHost, RemoteBackend } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { FLAG_TC } from '../src/index.js'
import { createRemote, hostInNamespace, mdnsStats } from './helpers/harness.js'
import { instanceRecords, SERVICE, sendQuery, sendResponses, sniff } from './helpers/packets.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
type PeerRecord = { readonly addresses: ReadonlyArray<{ host: string; port: number }> }

describe('spoofed goodbyes and records', () => {
  let host!: BackendHost
  const nodes: RemoteBackend[] = []
  const node = async (options: Record<string, unknown> = {}) => {
    const n = await createRemote(host, { ttl: 30, ...options })
    nodes.push(n)
    await n.start()
    return n
  }
  hostInNamespace('mdns-spoof', (h) => {
    host = h
  })
  afterEach(async () => {
    await host.child.call('rawSniffStop', {})
    await host.child.call('conflictorStop', {})
    await Promise.allSettled(nodes.splice(0).map((n) => n.stop()))
  })

  it('announces a record again at once when a goodbye for it arrives from someone else', async () => {
    const id = testId('goodbye-victim')
    const victim = await node()
    await victim.announce({ id, name: 'victim@box', addresses: [{ host: '0.0.0.0', port: 4321 }] })
    await sleep(1500) // both announcements are out
    const sniffer = await sniff(host)
    const instance = `victim@box.${SERVICE}`
    const hostName = `peer-${id.slice(0, 16)}.local`
    await sendResponses(host, [
      [
        {
          name: instance,
          type: 'SRV',
          ttl: 0,
          data: { target: hostName, port: 4321, priority: 0, weight: 0 },
        },
        { name: SERVICE, type: 'PTR', ttl: 0, data: instance },
      ],
    ])
    await waitFor(
      async () =>
        (await sniffer.read()).some(
          (p) =>
            p.type === 'response' &&
            p.answers.some((a) => a.name === instance && a.type === 'SRV' && a.ttl > 0),
        ),
      { timeoutMs: 3000, what: 'the victim to announce its SRV again' },
    )
    expect((await mdnsStats(victim)).spoofedGoodbyes).toBeGreaterThan(0)
  })

  it('asks again at once for an instance a goodbye removed', async () => {
    const observer = await node()
    await sendResponses(host, [instanceRecords('bye-target')])
    await waitFor(() => observer.lookup(testId('bye-target')), { what: 'bye-target discovered' })
    await sleep(300)
    const sniffer = await sniff(host)
    const instance = `bye-target.${SERVICE}`
    await sendResponses(host, [
      [{ name: instance, type: 'SRV', ttl: 0, data: { target: 'bye-target-host.local', port: 9000 } }],
    ])
    await waitFor(
      async () =>
        (await sniffer.read()).some(
          (p) => p.type === 'query' && p.questions.some((q) => q.name === instance && q.type === 'SRV'),
        ),
      { timeoutMs: 2000, what: 'a query for the instance the goodbye removed' },
    )
    // its owner answers (here: the test), and the peer is kept
    await sendResponses(host, [instanceRecords('bye-target')])
    await sleep(1500)
    expect(await observer.lookup(testId('bye-target'))).toBeDefined()
  })

  it('applies cache-flush semantics: a record without the flush bit does not replace a known one', async () => {
    const observer = await node()
    const rec = recordEvents(observer, ['peer:updated'])
    const instance = `flush-target.${SERVICE}`
    await sendResponses(host, [instanceRecords('flush-target', { port: 9000 })])
    await waitFor(() => observer.lookup(testId('flush-target')), { what: 'flush-target discovered' })
    // a spoofed SRV without the cache-flush bit joins the set but does not win
    const srv = (port: number, flush: boolean) => ({
      name: instance,
      type: 'SRV',
      ttl: 30,
      flush,
      data: { target: 'flush-target-host.local', port, priority: 0, weight: 0 },
    })
    await sendResponses(host, [[srv(6666, false)]])
    await sleep(1200)
    const kept = (await observer.lookup(testId('flush-target'))) as PeerRecord
    expect(kept.addresses[0]!.port).toBe(9000)
    expect(rec.of('peer:updated')).toEqual([])
    // with the flush bit, records received over a second ago are replaced (RFC 6762 section 10.2)
    await sendResponses(host, [[srv(7777, true)]])
    await waitFor(
      async () => ((await observer.lookup(testId('flush-target'))) as PeerRecord).addresses[0]!.port === 7777,
      { what: 'the flushed SRV to take over' },
    )
  })

  it('rate-limits renames when an attacker answers every probe (15 conflicts in 10 s, then 5 s apart)', async () => {
    await host.child.call('conflictorStart', {})
    const victim = await node()
    void victim
      .announce({ id: testId('renamed'), name: 'renamed@box', addresses: [{ host: '0.0.0.0', port: 4000 }] })
      .catch(() => {})
    await waitFor(async () => (await mdnsStats(victim)).conflicts >= 15, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: '15 conflicts',
    })
    const at15 = (await mdnsStats(victim)).conflicts
    await sleep(3000)
    const later = await mdnsStats(victim)
    expect(later.conflicts - at15).toBeLessThanOrEqual(1)
    expect(later.conflictBackoffs).toBeGreaterThan(0)
  }, 60_000)
})

describe('what goes on the wire (RFC 6762 sections 6.1, 8.1, 10.1)', () => {
  let host!: BackendHost
  hostInNamespace('mdns-wire', (h) => {
    host = h
  })

  it('probes with QU questions, answers NSEC for types it lacks, and says goodbye to the service-type PTR', async () => {
    const id = testId('wire-node')
    const sniffer = await sniff(host)
    const n = await createRemote(host, { ttl: 30, interfaces: { ipv6: false } })
    await n.start()
    await n.announce({ id, name: 'wire@node.example', addresses: [{ host: '0.0.0.0', port: 4555 }] })
    const instance = `wire@node\\.example.${SERVICE}`
    const hostName = `peer-${id.slice(0, 16)}.local`
    const probes = (await sniffer.read()).filter((p) => p.type === 'query' && p.authorities > 0)
    expect(probes.length).toBeGreaterThan(0)
    for (const p of probes) expect(p.questions.every((q) => q.qu)).toBe(true)
    await sleep(1500)
    // the instance has SRV and TXT only; the host has A only (IPv6 is off)
    await sendQuery(host, [{ name: instance, type: 'A' }])
    await sendQuery(host, [{ name: hostName, type: 'AAAA' }])
    await waitFor(
      async () => {
        const nsec = (await sniffer.read())
          .filter((p) => p.type === 'response')
          .flatMap((p) => p.answers)
          .filter((a) => a.type === 'NSEC')
        const of = (name: string) =>
          nsec.find((a) => a.name === name)?.data as { rrtypes: string[] } | undefined
        return (
          of(instance)?.rrtypes.join() === 'TXT,SRV' &&
          of(hostName)?.rrtypes.join() === 'A' &&
          nsec.length >= 2
        )
      },
      { what: 'NSEC answers for the instance (TXT, SRV) and the host (A)' },
    )
    await n.withdraw()
    await waitFor(
      async () =>
        (await sniffer.read()).some(
          (p) =>
            p.type === 'response' &&
            p.answers.some(
              (a) => a.name === '_services._dns-sd._udp.local' && a.type === 'PTR' && a.ttl === 0,
            ),
        ),
      { what: 'a goodbye for the _services._dns-sd._udp PTR' },
    )
    await host.child.call('rawSniffStop', {})
    await n.stop()
  })

  it('waits for the known answers of a TC query before answering it (section 7.2)', async () => {
    const id = testId('tc-node')
    const n = await createRemote(host, { ttl: 30 })
    await n.start()
    await n.announce({ id, name: 'tc@node', addresses: [{ host: '0.0.0.0', port: 4556 }] })
    await sleep(2500) // both announcements are out, and the one-second multicast limit has passed
    const instance = `tc@node.${SERVICE}`
    const sniffer = await sniff(host)
    const ptrAnswers = async () =>
      (await sniffer.read()).filter(
        (p) => p.type === 'response' && p.answers.some((a) => a.type === 'PTR' && a.data === instance),
      )
    // the known answer that lists the node arrives 200 ms after the question with TC
    await sendQuery(host, [{ name: SERVICE, type: 'PTR' }], { flags: FLAG_TC })
    await sleep(200)
    await sendQuery(host, [], { known: [{ name: SERVICE, type: 'PTR', ttl: 4500, data: instance }] })
    await sleep(1200)
    expect(await ptrAnswers()).toEqual([])
    // without the known answer, the TC query is answered (after 400-500 ms)
    await sendQuery(host, [{ name: SERVICE, type: 'PTR' }], { flags: FLAG_TC })
    await waitFor(async () => (await ptrAnswers()).length > 0, { what: 'the answer to a TC query' })
    await sniffer.stop()
    await n.stop()
  })
})

// Against a real dnsmasq started by @peer/testkit on 127.0.0.1 (free port, temp dir): records
// added, changed and removed at run time become events.
import type { PeerLostDetail, PeerRecord } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { nextEvent, recordEvents, waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { useDnsmasq } from './support/dnsmasq-zone.js'
import { DOMAIN, SERVICE } from './support/fixtures.js'

const zone = useDnsmasq()

type Detail = CustomEvent<{ record: PeerRecord }>

describe('dnsmasq: run-time record changes become events', () => {
  it('SRV added, address changed, TXT changed, SRV removed', async () => {
    const idA = testId('dm-a')
    const idB = testId('dm-b')
    await zone.server.update((z) => {
      z.srv[SERVICE] = [{ target: `a.${DOMAIN}`, port: 4001 }]
      z.txt[`a.${DOMAIN}`] = [`id=${idA}`, 'name=a@hosta']
      z.hosts[`a.${DOMAIN}`] = ['127.0.0.11', '::11']
    })
    const d = zone.backend()
    const rec = recordEvents(d, ['peer:discovered', 'peer:updated', 'peer:lost'])
    await d.start()
    expect(await d.list()).toMatchObject([
      {
        id: idA,
        name: 'a@hosta',
        addresses: [
          { host: '127.0.0.11', port: 4001 },
          { host: '::11', port: 4001 },
        ],
      },
    ])

    // a second instance appears (SRV + TXT: dnsmasq restarts on the same port)
    const discovered = nextEvent<Detail>(d, 'peer:discovered', (e) => e.detail.record.id === idB)
    await zone.server.update((z) => {
      z.srv[SERVICE]!.push({ target: `${idB}.${DOMAIN}`, port: 4002 })
      z.hosts[`${idB}.${DOMAIN}`] = ['127.0.0.12']
    })
    expect((await discovered).detail.record.addresses).toEqual([{ host: '127.0.0.12', port: 4002 }])

    // an address changes (hostsdir: no restart)
    const updated = nextEvent<Detail>(d, 'peer:updated', (e) => e.detail.record.id === idB)
    await zone.server.update((z) => {
      z.hosts[`${idB}.${DOMAIN}`] = ['127.0.0.13']
    })
    expect((await updated).detail.record.addresses).toEqual([{ host: '127.0.0.13', port: 4002 }])

    // a TXT attribute changes
    const renamed = nextEvent<Detail>(d, 'peer:updated', (e) => e.detail.record.id === idA)
    await zone.server.update((z) => {
      z.txt[`a.${DOMAIN}`] = [`id=${idA}`, 'name=a@renamed']
    })
    expect((await renamed).detail.record.name).toBe('a@renamed')

    // an instance is removed
    const lost = nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost')
    await zone.server.update((z) => {
      z.srv[SERVICE] = z.srv[SERVICE]!.filter((s) => s.port !== 4001)
    })
    expect((await lost).detail).toMatchObject({ reason: 'removed', record: { id: idA } })
    expect((await d.list()).map((r) => r.id)).toEqual([idB])

    // the last one goes too: the SRV name is now unknown (NXDOMAIN)
    const lastLost = nextEvent<CustomEvent<PeerLostDetail>>(d, 'peer:lost')
    await zone.server.update((z) => {
      z.srv = {}
    })
    expect((await lastLost).detail.record.id).toBe(idB)
    expect(rec.of('peer:discovered')).toHaveLength(2)
    rec.stop()
  })

  it('a dnsmasq restart or outage shorter than staleAfter loses nobody', async () => {
    const id = testId('dm-outage')
    await zone.server.update((z) => {
      z.srv[SERVICE] = [{ target: `${id}.${DOMAIN}`, port: 4100 }]
      z.hosts[`${id}.${DOMAIN}`] = ['127.0.0.30']
    })
    const d = zone.backend({ staleAfter: 30, timeoutMs: 100, attempts: 1 })
    const rec = recordEvents(d, ['peer:lost', 'discovery:error'])
    await d.start()
    await zone.server.pause()
    await waitFor(() => d.dnsStats.failedPolls >= 2, { what: 'failed polls while dnsmasq is down' })
    await zone.server.resume()
    const polls = d.dnsStats.polls
    await waitFor(() => d.dnsStats.polls >= polls + 2)
    expect(rec.of('peer:lost')).toHaveLength(0)
    expect(rec.of('discovery:error').length).toBeGreaterThan(0)
    expect((await d.list()).map((r) => r.id)).toEqual([id])
    rec.stop()
  })

  it('a target whose name has no addresses is dropped and counted', async () => {
    const id = testId('dm-bare')
    await zone.server.update((z) => {
      z.srv[SERVICE] = [{ target: `${id}.${DOMAIN}`, port: 4200 }]
    })
    const d = zone.backend()
    await d.start()
    expect(await d.list()).toEqual([])
    expect(d.stats.invalidRecords).toBe(1)
  })

  it('lookup(id) finds a node by its <id>.<domain> A record', async () => {
    const id = testId('dm-lookup')
    await zone.server.update((z) => {
      z.hosts[`${id}.${DOMAIN}`] = ['127.0.0.31']
    })
    const d = zone.backend({ defaultPort: 4433 })
    await d.start()
    expect(await d.lookup(id)).toMatchObject({ id, addresses: [{ host: '127.0.0.31', port: 4433 }] })
    expect(await d.lookup(testId('dm-nobody'))).toBeUndefined()
  })
})

// Issue 15: a zone publishes the services of a node in its TXT record (`services=a,b`, the meta key
// of @peer/discovery-core's service list), read here from a real dnsmasq started by
// @peer/testkit. Bad names and oversized lists from the zone are dropped and counted.
import { MAX_SERVICES, type PeerRecord, servicesOf } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { nextEvent, waitFor } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import { useDnsmasq } from './support/dnsmasq-zone.js'
import { DOMAIN, SERVICE } from './support/fixtures.js'

const zone = useDnsmasq()

type Detail = CustomEvent<{ record: PeerRecord }>

describe('services published through DNS TXT', () => {
  it('a TXT services= attribute reaches the record, and a change becomes peer:updated', async () => {
    const id = testId('svc-a')
    await zone.server.update((z) => {
      z.srv[SERVICE] = [{ target: `a.${DOMAIN}`, port: 4001 }]
      z.txt[`a.${DOMAIN}`] = [`id=${id}`, 'services=kv,billing.v2']
      z.hosts[`a.${DOMAIN}`] = ['127.0.0.11']
    })
    const d = zone.backend()
    await d.start()
    const [record] = await d.list()
    expect(record?.meta).toEqual({ services: 'kv,billing.v2' })
    expect(servicesOf(record!).services).toEqual(['billing.v2', 'kv'])

    const updated = nextEvent<Detail>(d, 'peer:updated', (e) => e.detail.record.id === id)
    await zone.server.update((z) => {
      z.txt[`a.${DOMAIN}`] = [`id=${id}`, 'services=search-eu']
    })
    expect((await updated).detail.record.meta).toEqual({ services: 'search-eu' })
    expect(d.dnsStats).toMatchObject({ droppedServiceNames: 0, droppedServiceLists: 0 })
  })

  it('bad names are dropped and counted once; an oversized list is dropped whole and counted', async () => {
    const idA = testId('svc-bad')
    const idB = testId('svc-big')
    const tooMany = Array.from({ length: MAX_SERVICES + 1 }, (_, i) => `s${i}`).join(',')
    await zone.server.update((z) => {
      z.srv[SERVICE] = [
        { target: `a.${DOMAIN}`, port: 4001 },
        { target: `b.${DOMAIN}`, port: 4002 },
      ]
      z.txt[`a.${DOMAIN}`] = [`id=${idA}`, 'services=kv,Bad_Upper,-dash,,ok.v1']
      z.txt[`b.${DOMAIN}`] = [`id=${idB}`, `services=${tooMany}`, 'zone=eu']
      z.hosts[`a.${DOMAIN}`] = ['127.0.0.11']
      z.hosts[`b.${DOMAIN}`] = ['127.0.0.12']
    })
    const d = zone.backend()
    await d.start()
    const byId = new Map((await d.list()).map((r) => [r.id, r]))
    expect(byId.get(idA)?.meta).toEqual({ services: 'kv,ok.v1' })
    // the list goes, the rest of the record stays
    expect(byId.get(idB)?.meta).toEqual({ zone: 'eu' })
    expect(d.dnsStats).toMatchObject({ droppedServiceNames: 3, droppedServiceLists: 1 })
    // counted by the shared base class, under the same names every backend uses
    expect(d.stats).toMatchObject({ droppedServiceNames: 3, droppedServiceLists: 1, invalidRecords: 0 })

    // later polls of the same records count nothing more
    const polls = d.dnsStats.polls
    await waitFor(() => d.dnsStats.polls >= polls + 3, { timeoutMs: 30_000, what: 'three more polls' })
    expect(d.dnsStats).toMatchObject({ droppedServiceNames: 3, droppedServiceLists: 1 })
    expect(d.stats).toMatchObject({ droppedServiceNames: 3, droppedServiceLists: 1 })
  })
})

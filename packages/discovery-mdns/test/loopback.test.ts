import { testId } from '@peer/testkit/ids'
import { createNetns, type Netns } from '@peer/testkit/netns'
import type { BackendHost } from '@peer/testkit/remote-backend'
import { recordEvents, waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRemote, startHost } from './helpers/harness.js'

const self = (label: string, port: number, meta?: Record<string, string>) => ({
  id: testId(label),
  name: `${label}@box`,
  addresses: [{ host: '0.0.0.0', port }],
  ...(meta ? { meta } : {}),
})

describe('two nodes on one namespace loopback', () => {
  let ns: Netns
  let hostA: BackendHost
  let hostB: BackendHost
  beforeAll(async () => {
    ns = await createNetns({ label: 'mdns-lo' })
    ;[hostA, hostB] = await Promise.all([startHost(ns), startHost(ns)])
  })
  afterAll(async () => {
    await Promise.allSettled([hostA?.close(), hostB?.close()])
    await ns?.delete()
  })

  it('discovers, updates and loses a peer after goodbye', async () => {
    const a = await createRemote(hostA, { ttl: 10 })
    const b = await createRemote(hostB, { ttl: 10 })
    const rec = recordEvents(b, ['peer:discovered', 'peer:updated', 'peer:lost'])
    await Promise.all([a.start(), b.start()])
    const me = self('alpha', 4001, { role: 'web' })
    await a.announce(me)
    await waitFor(() => rec.of('peer:discovered').length > 0, { what: 'peer:discovered' })
    const { record } = rec.of('peer:discovered')[0]!.detail as { record: Record<string, unknown> }
    expect(record).toMatchObject({ id: me.id, name: me.name, source: 'mdns', meta: { role: 'web' }, ttl: 10 })
    expect(record.addresses).toEqual([
      { host: '127.0.0.1', port: 4001 },
      { host: '::1', port: 4001 },
    ])
    expect(await b.lookup(me.name)).toMatchObject({ id: me.id })
    await a.withdraw()
    await waitFor(() => rec.of('peer:lost').length > 0, { what: 'peer:lost' })
    expect((rec.of('peer:lost')[0]!.detail as { reason: string }).reason).toBe('withdrawn')
    await Promise.all([a.stop(), b.stop()])
  })

  it('carries the services of a node (TXT services=) to the other side, and their change (issue 15)', async () => {
    const a = await createRemote(hostA, { ttl: 10 })
    const b = await createRemote(hostB, { ttl: 10 })
    const rec = recordEvents(b, ['peer:discovered', 'peer:updated'])
    await Promise.all([a.start(), b.start()])
    const me = self('svc', 4002, { services: 'billing.v2,kv' })
    await a.announce(me)
    await waitFor(() => rec.of('peer:discovered').length > 0, { what: 'peer:discovered' })
    const { record } = rec.of('peer:discovered')[0]!.detail as { record: Record<string, unknown> }
    expect(record).toMatchObject({ id: me.id, meta: { services: 'billing.v2,kv' } })
    await a.announce({ ...me, meta: { services: 'search-eu' } })
    await waitFor(
      () =>
        rec
          .of('peer:updated')
          .some(
            (e) =>
              (e.detail as { record: { meta?: Record<string, string> } }).record.meta?.services ===
              'search-eu',
          ),
      { what: 'peer:updated with the new services' },
    )
    await Promise.all([a.stop(), b.stop()])
  })
})

// What an announcing node keeps per socket stays bounded while its records change: every change of
// meta, services, addresses or identity makes new record keys, and a long-running node changes
// them for as long as it runs (a plain map here grew by a key per meta change, more per identity).
import { silentLogger } from '@peer/discovery-core'
import { testId } from '@peer/testkit/ids'
import { expect, it } from 'vitest'
import { Announcer } from '../src/announcer.js'
import { emptyStats, LAST_MULTICAST_KEYS, type MdnsContext, newSocketState } from '../src/context.js'
import { encodeTxt, type MdnsInterface } from '../src/index.js'
import type { InterfaceSocket } from '../src/internal.js'
import { recordKey } from '../src/records.js'

const iface: MdnsInterface = {
  name: 'lo',
  loopback: true,
  ipv4: [{ address: '127.0.0.1', family: 4, prefixLength: 8, linkLocal: false }],
  ipv6: [],
}

it('keeps at most LAST_MULTICAST_KEYS multicast times per socket, however often the records change', async () => {
  const state = newSocketState('lo/4', { iface, family: 4 } as unknown as InterfaceSocket)
  let sent = 0
  const ctx: MdnsContext = {
    serviceName: '_peer._udp.local',
    port: 5353,
    stats: emptyStats(),
    log: silentLogger('bounded'),
    running: () => true,
    sockets: () => [state],
    socket: () => state,
    interfaces: () => [iface],
    send: async () => {
      sent++
    },
    later: () => {},
    countInvalid: () => {},
    reportError: (e) => {
      throw e
    },
  }
  const announcer = new Announcer(ctx, { ttl: 120, serviceTtl: 4500, probe: false, announcements: 1 })
  const CHANGES = 1000
  let last: ReturnType<Announcer['create']> | undefined
  for (let i = 0; i < CHANGES; i++) {
    // a new identity every 100 changes, new meta every time
    const self = {
      id: testId(`bounded-${Math.floor(i / 100)}`),
      name: `n${Math.floor(i / 100)}@bounded`,
      addresses: [{ host: '0.0.0.0', port: 4000 }],
      meta: { load: String(i) },
    }
    last = announcer.create(self, encodeTxt(self), 4000, self.name)
    await announcer.sendAnnouncement(state, last)
  }
  expect(sent).toBe(CHANGES)
  expect(state.lastMulticast.size).toBeLessThanOrEqual(LAST_MULTICAST_KEYS)
  // the current records are the ones kept
  const r = announcer.records(iface, last!)
  for (const x of [r.ptr, r.meta, r.srv, r.txt, ...r.addresses])
    expect(state.lastMulticast.has(recordKey(x))).toBe(true)
})

// Issue 12 item 12: an SRV target that does not exist, or has no address, is reported as such
// (it used to say "has neither a TXT id nor a node id label").
import type { Logger } from '@peer/discovery-core'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { DnsDiscovery } from '../src/index.js'
import { type Dns2TestServer, startDns2Server } from './support/dns2-server.js'
import { DOMAIN, fastBackend, peerZone, SERVICE } from './support/fixtures.js'

let server: Dns2TestServer
let backend: DnsDiscovery | undefined

beforeEach(async () => {
  server = await startDns2Server()
})

afterEach(async () => {
  await backend?.stop()
  backend = undefined
  await server.close()
})

function capture(): { reasons: string[]; logger: (ns: string) => Logger } {
  const reasons: string[] = []
  const logger = (namespace: string): Logger => ({
    namespace,
    debug: (message, fields) => {
      if (message === 'dropped invalid input') reasons.push(String(fields?.reason))
    },
    info() {},
    warn() {},
    error() {},
  })
  return { reasons, logger }
}

it('a missing SRV target is dropped as NXDOMAIN, a target without addresses as having none', async () => {
  server.records = [
    { name: SERVICE, type: 'SRV', target: `ghost.${DOMAIN}`, port: 4001 },
    { name: SERVICE, type: 'SRV', target: `bare.${DOMAIN}`, port: 4002 },
    { name: `bare.${DOMAIN}`, type: 'TXT', strings: ['role=none'] },
  ]
  const { reasons, logger } = capture()
  backend = fastBackend(server.address, { logger })
  await backend.start()
  await waitFor(() => reasons.length >= 2, { what: 'two dropped targets' })
  expect(reasons.sort()).toEqual([
    `target bare.${DOMAIN} has no address (no A/AAAA records)`,
    `target ghost.${DOMAIN} does not exist (NXDOMAIN)`,
  ])
  expect(backend.stats.invalidRecords).toBe(2)
})

it('addresses no peer can be dialed at (0.0.0.0, multicast, ::) are dropped: the target keeps its others, or is dropped with the reason', async () => {
  const mixed = peerZone('mixed', { v4: ['0.0.0.0', '127.0.0.2', '224.0.0.251'], v6: ['::', '::1'] })
  const zero = peerZone('zero', { v4: ['0.0.0.0'] })
  server.records = [...mixed.records, ...zero.records]
  const { reasons, logger } = capture()
  backend = fastBackend(server.address, { logger, families: [4, 6] })
  const found = new Map<string, unknown>()
  backend.addEventListener('peer:discovered', (e) => found.set(e.detail.record.id, e.detail.record.addresses))
  await backend.start()
  await waitFor(() => found.size >= 1 && reasons.length >= 4, { what: 'one peer found, one target dropped' })
  expect([...found.keys()]).toEqual([mixed.id])
  expect(found.get(mixed.id)).toEqual([
    { host: '127.0.0.2', port: 4000 },
    { host: '::1', port: 4000 },
  ])
  const unspecified =
    "is the unspecified address: a listener binds it, but a dial to it reaches the dialer's own host"
  // the dropped records of a target that keeps others are counted too, each once (they were not)
  expect(reasons.sort()).toEqual([
    `target mixed.${DOMAIN}: A record 0.0.0.0 is not dialable (0.0.0.0 ${unspecified})`,
    `target mixed.${DOMAIN}: A record 224.0.0.251 is not dialable (224.0.0.251 is a multicast, broadcast or "this network" address: no peer can be dialed at it)`,
    `target mixed.${DOMAIN}: AAAA record :: is not dialable (:: ${unspecified})`,
    `target zero.${DOMAIN} has no dialable address (0.0.0.0 ${unspecified})`,
  ])
  expect(backend.stats.invalidRecords).toBe(4)
})

// `peer discover` and `peer start` against real services: etcd and dnsmasq on loopback, mDNS
// inside a network namespace the test creates (never multicast in the root namespace).
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateIdentity, saveIdentity } from '@peer/identity'
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { createNetns, type Netns } from '@peer/testkit/netns'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir } from './helpers.js'

let dir: string
beforeAll(async () => {
  dir = await makeTempDir('backends')
})
afterAll(() => removeTempDir(dir))

async function identity(name: string): Promise<string> {
  const id = await generateIdentity()
  await saveIdentity(id, join(dir, name))
  return id.id
}

describe('etcd', () => {
  let etcd: EtcdCluster
  beforeAll(async () => {
    etcd = await startEtcd()
  }, 30_000)
  afterAll(() => etcd?.close())

  it('discover sees a `peer start` node announce itself through etcd, and lose it when it stops', async () => {
    const id = await identity('etcd-node')
    const config = join(dir, 'etcd.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: 'etcd-node',
        name: 'api@localhost',
        listen: '127.0.0.1:0',
        discovery: [{ backend: 'etcd', endpoints: [etcd.endpoint], prefix: '/cli-test', ttl: 5 }],
      }),
    )
    const watcher = new PeerProcess([
      'discover',
      '--backend',
      'etcd',
      '--endpoint',
      etcd.endpoint,
      '--prefix',
      '/cli-test',
      '--json',
    ])
    const node = new PeerProcess(['start', '--config', config, '--json'])
    try {
      await watcher.waitFor((x) => x.events.some((e) => e.event === 'ready'), 30_000, 'watcher ready')
      const started = await node.waitFor(
        (x) => x.events.find((e) => e.event === 'started'),
        30_000,
        'node started',
      )
      const found = await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'discovered' && e.id === id),
        20_000,
        'discovered via etcd',
      )
      expect(found).toMatchObject({ name: 'api@localhost', source: 'etcd', addresses: [started.address] })
      expect((await node.stop('SIGTERM')).code).toBe(0)
      const lost = await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'lost' && e.id === id),
        20_000,
        'lost via etcd',
      )
      expect(lost).toMatchObject({ source: 'etcd' })
    } finally {
      await node.stop()
      await watcher.stop('SIGINT')
    }
  }, 60_000)

  it('discover shows a backend warning by default: a prefix holding only invalid records', async () => {
    await etcd.etcdctl(['put', '/cli-bad/nodes/x', '{"id":"nope","addresses":[]}'])
    // no --log-level: the default shows warnings
    const watcher = new PeerProcess([
      ...['discover', '--backend', 'etcd', '--endpoint', etcd.endpoint, '--prefix', '/cli-bad'],
    ])
    try {
      await watcher.waitFor(
        (x) => x.stderr.includes('dropped an invalid record, and no valid one has been seen since start'),
        30_000,
        'the warning on stderr',
      )
      expect(watcher.stderr).toMatch(/WARN {2}peer:discovery:etcd .*does not end in a node id/)
    } finally {
      await watcher.stop('SIGINT')
    }
  }, 60_000)
})

describe('dns', () => {
  let dns: DnsmasqServer
  let id: string
  beforeAll(async () => {
    id = await identity('dns-node')
    dns = await startDnsmasq({
      domain: 'peer.test',
      ttl: 1,
      zone: {
        srv: { '_peer._udp.peer.test': [{ target: `${id}.peer.test`, port: 4123 }] },
        hosts: { [`${id}.peer.test`]: ['127.0.0.1'] },
      },
    })
  }, 30_000)
  afterAll(() => dns?.stop())

  it('discover reports the SRV target (id from the target label) and loses it when it is removed', async () => {
    const watcher = new PeerProcess([
      'discover',
      '--backend',
      'dns',
      '--resolver',
      dns.address,
      '--domain',
      'peer.test',
      '--json',
    ])
    try {
      const found = await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'discovered' && e.id === id),
        20_000,
        'discovered via dns',
      )
      expect(found).toMatchObject({ source: 'dns', addresses: ['127.0.0.1:4123'] })
      await dns.update((zone) => {
        zone.srv['_peer._udp.peer.test'] = []
      })
      await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'lost' && e.id === id),
        30_000,
        'lost via dns',
      )
    } finally {
      await watcher.stop('SIGINT')
    }
  }, 60_000)
})

describe('mdns (inside a network namespace)', () => {
  let ns: Netns
  beforeAll(async () => {
    ns = await createNetns({ label: 'cli-mdns' })
  })
  afterAll(() => ns?.delete())

  it('discover sees a `peer start` node announced over mDNS, then withdrawn', async () => {
    const id = await identity('mdns-node')
    const config = join(dir, 'mdns.json')
    await writeFile(
      config,
      JSON.stringify({
        identity: 'mdns-node',
        name: 'lan@localhost',
        listen: '127.0.0.1:0',
        discovery: [{ backend: 'mdns', service: '_peercli._udp', families: [4] }],
      }),
    )
    const watcher = new PeerProcess(
      ['discover', '--backend', 'mdns', '--service', '_peercli._udp', '--json'],
      { netns: ns.name },
    )
    const node = new PeerProcess(['start', '--config', config, '--json'], { netns: ns.name })
    try {
      await watcher.waitFor((x) => x.events.some((e) => e.event === 'ready'), 30_000, 'watcher ready')
      await node.waitFor((x) => x.events.find((e) => e.event === 'started'), 30_000, 'node started')
      const found = await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'discovered' && e.id === id),
        20_000,
        'discovered via mdns',
      )
      expect(found).toMatchObject({ source: 'mdns', name: 'lan@localhost' })
      expect((await node.stop('SIGTERM')).code).toBe(0)
      await watcher.waitFor(
        (x) => x.events.find((e) => e.event === 'lost' && e.id === id),
        20_000,
        'lost via mdns',
      )
    } finally {
      await node.stop()
      await watcher.stop('SIGINT')
    }
  }, 60_000)
})

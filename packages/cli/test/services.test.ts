// Named services from the command line, against real `peer start` processes on loopback: nodes
// started with `--provide`, the static peer list carrying their services (`meta.services`, static
// discovery cannot announce), `peer services` through the control socket (table and --json),
// `peer ping service:<name>` picking a connected provider and skipping one that does not run, and
// the clear errors (no provider, bad names).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, type PeerProcess, removeTempDir, runPeer } from './helpers.js'
import { freeUdpPort, makeIdentities, stopAll, upSet } from './support/cluster.js'
import { startNode, writePeersFile } from './support/file-nodes.js'

let dir: string
let ids: string[]
let ports: number[]
const nodes: PeerProcess[] = []
/** n0 provides nothing, n1 `kv`, n2 `kv` and `search`, n3 `kv` but never runs; n4 only pings. */
const PROVIDES: string[][] = [[], ['kv'], ['kv', 'search'], ['kv']]

/** Starts node `i` with its services (`--provide`). */
function startProvider(i: number): PeerProcess {
  return startNode(
    dir,
    ports,
    i,
    PROVIDES[i]!.flatMap((s) => ['--provide', s]),
  )
}

/** `peer ping` as n4 (an identity of its own that every node trusts). */
function pingArgs(target: string, ...rest: string[]): string[] {
  return [
    'ping',
    target,
    '--identity',
    join(dir, 'n4'),
    '--trust-file',
    join(dir, 'trust.json'),
    '--peers-file',
    join(dir, 'peers.json'),
    ...rest,
  ]
}

function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

beforeAll(async () => {
  dir = await makeTempDir('services')
  ;({ ids } = await makeIdentities(dir, 5))
  ports = []
  for (let i = 0; i < 4; i++) ports.push(await freeUdpPort())
  const peers = PROVIDES.map((services, i) => ({
    id: ids[i]!,
    name: `n${i}@localhost`,
    addresses: [`127.0.0.1:${ports[i]}`],
    ...(services.length === 0 ? {} : { meta: { services: services.join(',') } }),
  }))
  await writePeersFile(dir, peers)
  nodes.push(startProvider(0), startProvider(1), startProvider(2))
  for (const [i, p] of nodes.entries()) {
    const others = [0, 1, 2].filter((j) => j !== i).map((j) => ids[j]!)
    await p.waitFor((x) => others.every((id) => upSet(x).has(id)), 60_000, `n${i} to have n0-n2 up`)
  }
}, 120_000)

afterAll(async () => {
  await stopAll(nodes)
  await removeTempDir(dir)
})

describe('peer start --provide', () => {
  it('provides the services (the started event lists them) and reports the providers it learns', async () => {
    const started = nodes[2]!.events.find((e) => e.event === 'started')!
    expect(started.provides).toEqual(['kv', 'search'])
    const added = await nodes[0]!.waitFor(
      (x) => {
        // those learnt while the node was starting are printed after `started` (maybe twice)
        const seen = new Set(
          x.events.filter((e) => e.event === 'provider:added').map((e) => `${e.service} ${e.id}`),
        )
        return seen.size >= 4 ? seen : undefined
      },
      30_000,
      'provider:added events',
    )
    expect([...added].sort()).toEqual(
      [`kv ${ids[1]}`, `kv ${ids[2]}`, `kv ${ids[3]}`, `search ${ids[2]}`].sort(),
    )
  })

  it('rejects a service name that is not of the grammar (exit 2, no node started)', async () => {
    const r = await runPeer(['start', '--identity', join(dir, 'n4'), '--provide', 'Not Valid'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--provide: .*service name/i)
  })
})

describe('peer services', () => {
  it('--json: every service with its providers, connected ones first, from the running node', async () => {
    const r = await runPeer(['services', '--identity', join(dir, 'n0'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.node).toEqual({ id: ids[0], name: 'n0@localhost', provides: [] })
    expect(s.services.map((e: { service: string }) => e.service)).toEqual(['kv', 'search'])
    const kv = s.services[0]
    expect(kv.provided).toBe(false)
    expect(kv.providers).toHaveLength(3)
    // n1 and n2 are connected, n3 does not run: it comes last
    expect(
      kv.providers
        .slice(0, 2)
        .map((p: { id: string }) => p.id)
        .sort(),
    ).toEqual([ids[1], ids[2]].sort())
    for (const p of kv.providers.slice(0, 2)) {
      expect(p.connected).toBe(true)
      expect(typeof p.rttMs).toBe('number')
    }
    expect(kv.providers[2]).toMatchObject({
      id: ids[3],
      name: 'n3@localhost',
      addresses: [`127.0.0.1:${ports[3]}`],
      connected: false,
    })
    expect(s.services[1]).toMatchObject({
      service: 'search',
      provided: false,
      providers: [
        { id: ids[2], name: 'n2@localhost', addresses: [`127.0.0.1:${ports[2]}`], connected: true },
      ],
    })
  })

  it('text: one row per provider; the node marks what it provides itself; a name filters', async () => {
    const r = await runPeer(['services', '--control', join(dir, 'n1', 'control.sock')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`node      n1@localhost ${ids[1]}; provides kv`)
    expect(r.stdout).toMatch(/kv +│ n1@localhost \(this node\)/)
    expect(r.stdout).toMatch(new RegExp(`kv +│ n2@localhost .*127\\.0\\.0\\.1:${ports[2]} .*│ yes`))
    expect(r.stdout).toMatch(/search +│ n2@localhost/)
    const one = await runPeer(['services', 'search', '--identity', join(dir, 'n1'), '--json'])
    expect(one.code, one.stderr).toBe(0)
    expect(JSON.parse(one.stdout).services.map((e: { service: string }) => e.service)).toEqual(['search'])
    const none = await runPeer(['services', 'nothing', '--identity', join(dir, 'n1'), '--json'])
    expect(JSON.parse(none.stdout).services).toEqual([{ service: 'nothing', provided: false, providers: [] }])
  })

  it('a node that does not run is a clear error', async () => {
    const r = await runPeer(['services', '--identity', join(dir, 'n3')])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no node is running with the control socket')
  })
})

describe('peer ping service:<name>', () => {
  it('pings a connected provider and says which one answered; the one that does not run is never tried', async () => {
    const r = await runPeer(pingArgs('service:kv', '--count', '4', '--interval', '50', '--json'), {
      timeoutMs: 60_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const ev = events(r.stdout)
    const providers = ev.find((e) => e.event === 'providers')!
    expect(providers.service).toBe('kv')
    const replies = ev.filter((e) => e.event === 'reply')
    expect(replies).toHaveLength(4)
    for (const reply of replies) {
      expect([ids[1], ids[2]]).toContain(reply.id)
      expect(reply).toMatchObject({ service: 'kv', tried: 1 })
      expect(reply.address).toBe(`127.0.0.1:${ports[reply.id === ids[1] ? 1 : 2]}`)
    }
    expect(ev.filter((e) => e.event === 'failover')).toEqual([])
    const summary = ev.find((e) => e.event === 'summary')!
    expect(summary).toMatchObject({ service: 'kv', sent: 4, received: 4 })
    expect(Object.values(summary.answeredBy as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4)
  })

  it('text: names the provider that answered', async () => {
    const r = await runPeer(pingArgs('service:search', '--count', '1'), { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('PING service:search: 1 provider (n2@localhost)')
    expect(r.stdout).toMatch(
      new RegExp(
        `reply from n2@localhost ${ids[2]} at 127\\.0\\.0\\.1:${ports[2]} \\(service:search\\): seq=1`,
      ),
    )
    expect(r.stdout).toContain('answered by n2@localhost 1')
  })

  it('no provider: a clear error (exit 1); a bad service name: a usage error (exit 2)', async () => {
    const r = await runPeer(pingArgs('service:nothing', '--connect-timeout', '1500'), { timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no provider of service "nothing" is known after 1500 ms')
    const bad = await runPeer(pingArgs('service:Bad_Name'))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('target "service:Bad_Name"')
  })
})

// `peer start --metrics`: a real node serves Prometheus text on a loopback port; scraped with
// fetch, its counters move with real traffic from a second `peer start` over QUIC.
import { join } from 'node:path'
import { freePort } from '@peer/testkit/ports'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseMetricsAddress } from '../src/metrics-server.js'
import { makeTempDir, PeerProcess, removeTempDir, runPeer } from './helpers.js'
import { makeIdentities, startArgs, waitStarted, writeClusterConfig } from './support/cluster.js'

/** The value of the series `name` (all label sets summed) in Prometheus text. */
function value(text: string, name: string, labels = ''): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (labels !== '' && !line.includes(labels)) continue
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  return res.text()
}

describe('peer start --metrics', () => {
  let dir: string
  const nodes: PeerProcess[] = []
  let url = ''
  let ids: string[] = []

  beforeAll(async () => {
    dir = await makeTempDir('metrics')
    ;({ ids } = await makeIdentities(dir, 2))
    const ports = [await freePort({ protocols: ['udp'] }), await freePort({ protocols: ['udp'] })]
    const metricsPort = await freePort({ protocols: ['tcp'] })
    await writeClusterConfig(join(dir, 'cluster.json'), [
      {
        backend: 'static',
        peers: ids.map((id, i) => ({ id, name: `n${i}@localhost`, addresses: [`127.0.0.1:${ports[i]}`] })),
      },
    ])
    nodes.push(
      new PeerProcess([...startArgs(dir, 0, ports[0]!), '--metrics', `127.0.0.1:${metricsPort}`], {
        cwd: dir,
      }),
      new PeerProcess(startArgs(dir, 1, ports[1]!), { cwd: dir }),
    )
    await waitStarted(nodes[0]!, ids[0]!, 'n0')
    await waitStarted(nodes[1]!, ids[1]!, 'n1')
    const event = await nodes[0]!.waitFor(
      (p) => p.events.find((e) => e.event === 'metrics'),
      30_000,
      'metrics',
    )
    url = String(event.url)
    expect(url).toBe(`http://127.0.0.1:${metricsPort}/metrics`)
  }, 120_000)

  afterAll(async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()))
    await removeTempDir(dir)
  })

  it('serves the node counters, and they move with real traffic between two nodes', async () => {
    // n1 is up at n0 (the gauge), then chatter (messages every 100 ms, pings) moves the counters
    let first = ''
    await waitFor(
      async () => {
        first = await scrape(url)
        return value(first, 'peer_node_peers') === 1
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'n1 up in the metrics of n0' },
    )
    expect(first).toMatch(/^# TYPE peer_node_messages_received_total counter$/m)
    expect(value(first, 'peer_registry_connections_opened_total')).toBeGreaterThanOrEqual(1)
    expect(value(first, 'peer_discovery_events_total', 'peer_discovery_event="discovered"')).toBe(1)
    expect(value(first, 'peer_discovery_time_to_discover_count', 'peer_backend="static"')).toBe(1)
    expect(value(first, 'peer_transport_engine')).toBe(1)
    // the QUIC engine's own counters: datagrams both ways over n0's connections
    expect(value(first, 'peer_transport_datagrams_total', 'network_io_direction="receive"')).toBeGreaterThan(
      0,
    )
    expect(value(first, 'peer_transport_datagrams_total', 'network_io_direction="transmit"')).toBeGreaterThan(
      0,
    )
    // bounded cardinality: no node id in any label by default
    for (const id of ids) expect(first).not.toContain(id)
    const received = value(first, 'peer_node_messages_received_total') ?? 0
    const bytes = value(first, 'peer_node_bytes_sent_total') ?? 0
    await waitFor(
      async () => {
        const now = await scrape(url)
        const sentNow = value(now, 'peer_node_bytes_sent_total') ?? 0
        return (value(now, 'peer_node_messages_received_total') ?? 0) >= received + 5 && sentNow > bytes
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'counters moving' },
    )
  })

  it('answers 404 off the metrics path', async () => {
    const res = await fetch(new URL('/other', url), { signal: AbortSignal.timeout(10_000) })
    expect(res.status).toBe(404)
    await res.text()
  })

  it('refuses a non-loopback address without --metrics-allow-remote, and a bad address', async () => {
    const remote = await runPeer(['start', '--metrics', '0.0.0.0:9464', '--listen', '127.0.0.1:0'], {
      cwd: dir,
    })
    expect(remote.code).toBe(2)
    expect(remote.stderr).toContain('not a loopback address')
    expect(remote.stderr).toContain('--metrics-allow-remote')
    expect(() => parseMetricsAddress('host.example:1')).toThrow(/not an IP address/)
    expect(() => parseMetricsAddress('127.0.0.1')).toThrow(/expected <host:port>/)
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 })
    expect(parseMetricsAddress('localhost:0')).toEqual({ host: '127.0.0.1', port: 0 })
    expect(parseMetricsAddress('10.1.2.3:9464', true)).toEqual({ host: '10.1.2.3', port: 9464 })
  })

  it('names the port when it is in use', async () => {
    const taken = new URL(url)
    const res = await runPeer(
      [
        'start',
        '--identity',
        join(dir, 'n9'),
        '--create-identity',
        '--listen',
        '127.0.0.1:0',
        '--metrics',
        `127.0.0.1:${taken.port}`,
      ],
      { cwd: dir },
    )
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(`port ${taken.port} is in use`)
  })
})

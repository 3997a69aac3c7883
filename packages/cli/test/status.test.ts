// `peer status` against real `peer start` processes on loopback: two nodes started at the same
// moment (a simultaneous dial, resolved without a warning), their status through the control
// socket (peers, addresses with sources, state, RTT, lanes, counters), `--watch` until SIGINT and
// until the node stops, `updated` events at --log-level info, and the CLI papercuts: a port in use,
// `peer id ./identity`.
import { createSocket } from 'node:dgram'
import { lstat, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { testId } from '@peer/testkit/ids'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempDir, PeerProcess, removeTempDir, runPeer } from './helpers.js'
import { freeUdpPort, makeIdentities, stopAll, upSet } from './support/cluster.js'
import { startNode, writePeersFile } from './support/file-nodes.js'

let dir: string
let ids: string[]
let ports: number[]
const nodes: PeerProcess[] = []
const STRANGER = testId('status-stranger')

/** Starts node `i`, logging at info (`updated` events). */
function startInfoNode(i: number): PeerProcess {
  return startNode(dir, ports, i, ['--log-level', 'info'])
}

beforeAll(async () => {
  dir = await makeTempDir('status')
  ;({ ids } = await makeIdentities(dir, 2))
  ports = [await freeUdpPort(), await freeUdpPort()]
  await writePeersFile(dir, [
    ...ids.map((id, i) => ({ id, name: `n${i}@localhost`, addresses: [`127.0.0.1:${ports[i]}`] })),
    // listed, but in nobody's trust list: never dialed, shown by `peer status` as such
    { id: STRANGER, name: 'stranger@localhost', addresses: ['127.0.0.1:9'] },
  ])
  // both at once: each dials the other while being dialed
  nodes.push(startInfoNode(0), startInfoNode(1))
  for (const [i, p] of nodes.entries()) {
    await p.waitFor((x) => upSet(x).has(ids[1 - i]!), 60_000, `n${i} to have its peer up`)
  }
}, 90_000)

afterAll(async () => {
  await stopAll(nodes)
  await removeTempDir(dir)
})

describe('peer status', () => {
  it('two nodes starting together connect without a warning about the duplicate connection', () => {
    for (const p of nodes) {
      // the one warning: the listed stranger (read from the peers file at start)
      const warnings = p.stderr.split('\n').filter((line) => / WARN /.test(line))
      expect(warnings).toEqual([
        expect.stringMatching(
          /WARN {2}peer:cli static lists 1 peer\(s\) not in the trust list, which are never dialed: /,
        ),
      ])
      expect(p.stderr).toMatch(/INFO {2}peer:node peer up/)
    }
  })

  it('opens the control socket with mode 0600 in the identity directory', async () => {
    const started = nodes[0]!.events.find((e) => e.event === 'started')!
    expect(started.control).toBe(join(dir, 'n0', 'control.sock'))
    const st = await lstat(join(dir, 'n0', 'control.sock'))
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
  })

  it('--json: the node, its peer with addresses, sources, state, RTT, lanes, and every counter', async () => {
    const r = await runPeer(['status', '--identity', join(dir, 'n0'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.node).toMatchObject({ id: ids[0], name: 'n0@localhost', address: `127.0.0.1:${ports[0]}` })
    expect(s.node.pid).toBe(nodes[0]!.events.find((e) => e.event === 'started')!.pid)
    expect(s.peers).toHaveLength(1)
    const peer = s.peers[0]
    expect(peer).toMatchObject({
      id: ids[1],
      name: 'n1@localhost',
      state: 'connected',
      up: true,
      discovered: true,
      addresses: [{ address: `127.0.0.1:${ports[1]}`, sources: ['static'] }],
    })
    expect(['inbound', 'outbound']).toContain(peer.direction)
    expect(typeof peer.rttMs).toBe('number')
    // lanes open on first use; the listener side of a connection opens lane 0 at once
    const control = peer.lanes.find((l: { lane: number }) => l.lane === 0)
    expect(control).toMatchObject({ class: 'control', queued: 0, unacked: 0 })
    expect(control.in || control.out).toBe(true)
    // no envelope need have crossed yet (the hellos came with the connection): counters are there
    expect(peer.stats).toMatchObject({
      messagesReceived: expect.any(Number),
      bytesReceived: expect.any(Number),
    })
    expect(s.stats).toMatchObject({ peersUp: 1, messagesDropped: 0, malformed: 0 })
    expect(s.registry).toMatchObject({ connects: expect.any(Number), dials: expect.any(Number) })
    expect(s.discovery.backends).toEqual([
      {
        source: 'static',
        stats: {
          invalidRecords: 0,
          overflowDrops: 0,
          errors: 0,
          droppedServiceNames: 0,
          droppedServiceLists: 0,
          listenerErrors: 0,
        },
      },
    ])
    expect(s.discovery.stats).toHaveProperty('flapsSuppressed')
    // the listed peer nobody trusts: not in the registry's table, but not hidden either
    expect(s.untrusted).toEqual({
      count: 1,
      peers: [{ id: STRANGER, name: 'stranger@localhost', addresses: ['127.0.0.1:9'], sources: ['static'] }],
    })
  })

  it('text: a table of peers with addresses and their sources; --control names the socket', async () => {
    const r = await runPeer(['status', '--control', join(dir, 'n1', 'control.sock')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`node      n1@localhost ${ids[1]}`)
    expect(r.stdout).toContain('peers     1 up of 1 known')
    expect(r.stdout).toMatch(new RegExp(`n0@localhost .*up .*127\\.0\\.0\\.1:${ports[0]} \\(static\\)`))
    expect(r.stdout).toMatch(/discovery \[static\] invalidRecords 0, overflowDrops 0, errors 0/)
    expect(r.stdout).toContain('untrusted 1 discovered peer(s) not in the trust list, so not dialed:')
    expect(r.stdout).toContain(`  stranger@localhost ${STRANGER} at 127.0.0.1:9 [static]`)
    expect(r.stdout).not.toContain('\u001b[') // no colours when stdout is not a terminal
  })

  it('prints `updated` at --log-level info when a known peer changes its record', async () => {
    const mark = nodes[0]!.events.length
    await writePeersFile(
      dir,
      ids.map((id, i) => ({
        id,
        name: `n${i}@localhost`,
        addresses: [`127.0.0.1:${ports[i]}`],
        meta: { role: 'updated' },
      })),
    )
    const updated = await nodes[0]!.waitFor(
      (x) => x.events.slice(mark).find((e) => e.event === 'updated' && e.id === ids[1]),
      30_000,
      'an updated event',
    )
    expect(updated).toMatchObject({ source: 'static', meta: { role: 'updated' } })
  })

  it('--watch --json: a status every interval until SIGINT, then exit 0', async () => {
    const watch = new PeerProcess([
      'status',
      '--identity',
      join(dir, 'n0'),
      '--watch',
      '--json',
      '--interval',
      '200',
    ])
    await watch.waitFor((x) => x.events.filter((e) => e.event === 'status').length >= 3, 30_000, '3 statuses')
    const statuses = watch.events.filter((e) => e.event === 'status')
    expect((statuses[0]!.node as { id: string }).id).toBe(ids[0])
    expect((statuses.at(-1)!.node as { uptimeMs: number }).uptimeMs).toBeGreaterThan(
      (statuses[0]!.node as { uptimeMs: number }).uptimeMs,
    )
    const r = await watch.stop('SIGINT')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
  })

  it('--watch ends cleanly when the node stops; the socket file is removed; then status says no node runs', async () => {
    const watch = new PeerProcess(['status', '--identity', join(dir, 'n1'), '--watch', '--interval', '200'])
    await watch.waitFor((x) => x.stdout.includes('peers     1 up of 1 known'), 30_000, 'a table')
    const stopped = await nodes[1]!.stop('SIGTERM')
    expect(stopped.code, stopped.stderr).toBe(0)
    let r: Awaited<typeof watch.exited>
    try {
      r = await watch.exited // it exits on its own
    } finally {
      watch.child.kill('SIGKILL')
    }
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('the node stopped')
    await expect(lstat(join(dir, 'n1', 'control.sock'))).rejects.toMatchObject({ code: 'ENOENT' })
    const none = await runPeer(['status', '--identity', join(dir, 'n1')])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain(
      `no node is running with the control socket ${join(dir, 'n1', 'control.sock')}`,
    )
  }, 60_000)
})

describe('peer start papercuts', () => {
  it('a UDP port in use: the error names the port and the fix', async () => {
    const port = await freeUdpPort()
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve))
    try {
      const r = await runPeer([
        'start',
        '--identity',
        join(dir, 'n0'),
        '--listen',
        `127.0.0.1:${port}`,
        '--trust-file',
        join(dir, 'trust.json'),
        '--no-control',
      ])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`UDP port ${port} on 127.0.0.1 is already in use`)
      expect(r.stderr).toContain('--listen 127.0.0.1:<port>')
    } finally {
      socket.close()
    }
  })

  it('a second start with a running identity directory fails before it starts a node', async () => {
    // it used to start (announce, dial: its connections replaced the running node's) and fail only
    // when it came to open the control socket
    const r = await runPeer([
      ...['start', '--identity', join(dir, 'n0'), '--listen', '127.0.0.1:0', '--json'],
      ...['--trust-file', join(dir, 'trust.json'), '--peers-file', join(dir, 'peers.json')],
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `a node is already running with the control socket ${join(dir, 'n0', 'control.sock')}`,
    )
    expect(r.stdout).toBe('') // no `started`, no `stopped`: nothing ran
    expect((await lstat(join(dir, 'n0', 'control.sock'))).isSocket()).toBe(true)
  })

  it("shows a failing backend's last error (an etcd nobody answers on loopback)", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo
        server.close(() => resolve(port))
      })
    })
    const file = join(dir, 'etcd-down.json')
    await writeFile(
      file,
      JSON.stringify({
        identity: 'etcd-down',
        createIdentity: true,
        listen: '127.0.0.1:0',
        trust: { peers: [ids[0]] },
        discovery: [
          { backend: 'static', peers: [] },
          { backend: 'etcd', endpoints: `http://127.0.0.1:${closed}`, requestTimeoutMs: 500 },
        ],
      }),
    )
    const node = new PeerProcess(['start', '--config', file, '--json'])
    nodes.push(node)
    await node.waitFor(
      (p) => p.events.some((e) => e.event === 'started'),
      60_000,
      'the node with etcd down to start',
    )
    const status = async () => runPeer(['status', '--identity', join(dir, 'etcd-down'), '--json'])
    let etcd: { lastError?: { message: string; at: number } } | undefined
    for (let i = 0; i < 120 && etcd?.lastError === undefined; i++) {
      const r = await status()
      expect(r.code, r.stderr).toBe(0)
      etcd = JSON.parse(r.stdout).discovery.backends.find((b: { source: string }) => b.source === 'etcd')
      if (etcd?.lastError === undefined) await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(etcd?.lastError?.message).toMatch(/ECONNREFUSED|UNAVAILABLE/)
    expect(etcd?.lastError?.at).toBeLessThanOrEqual(Date.now())
    const text = await runPeer(['status', '--identity', join(dir, 'etcd-down')])
    expect(text.stdout).toMatch(
      /discovery \[etcd\] .*\n {2}last error \d+ s ago: .*(ECONNREFUSED|UNAVAILABLE)/,
    )
    expect(text.stdout).not.toMatch(/discovery \[static\] .*\n {2}last error/)
  }, 120_000)

  it('peer id ./identity (a relative directory, as getting-started shows it)', async () => {
    const r = await runPeer(['id', './n0'], { cwd: dir })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe(ids[0])
  })
})

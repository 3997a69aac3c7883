// Shared pieces of the 5-process cluster tests (static, etcd, dns, mdns): identities and a shared
// trust list, `peer start` processes, the "every node has every peer up" and "messages flow" checks,
// and a real crash (SIGKILL of the whole process tree: tsx runs the node in a child process).
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateIdentity, saveIdentity, TrustList } from '@peer/identity'
import { freePort } from '@peer/testkit/ports'
import { expect, it } from 'vitest'
import type { PeerProcess } from '../helpers.js'

/** Node ids that a node has up, from its peer:up / peer:down events. */
export function upSet(p: PeerProcess): Set<string> {
  const up = new Set<string>()
  for (const e of p.events) {
    if (e.event === 'peer:up') up.add(String(e.id))
    if (e.event === 'peer:down') up.delete(String(e.id))
  }
  return up
}

/** Node ids a node has up now, from its latest `stats` event (`node.peers()`). */
export function upNow(p: PeerProcess): Set<string> {
  const peers = (latestStats(p)?.peers ?? []) as PeerStats[]
  return new Set(peers.map((q) => q.id))
}

/** The latest `stats` event of a node. */
export function latestStats(p: PeerProcess): Record<string, unknown> | undefined {
  return p.events.filter((e) => e.event === 'stats').at(-1)
}

/** One peer's line in a `stats` event. */
export interface PeerStats {
  id: string
  sent: number
  received: number
  rtt?: number
}

/** The identities of a test cluster: `dir/n<i>` for each node, `dir/trust.json` trusting all. */
export interface ClusterIdentities {
  ids: string[]
  trustFile: string
}

/** Generates `n` identities under `dir/n<i>` and one trust list (`dir/trust.json`) with all of them. */
export async function makeIdentities(dir: string, n: number): Promise<ClusterIdentities> {
  const trust = new TrustList()
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const identity = await generateIdentity()
    await saveIdentity(identity, join(dir, `n${i}`))
    trust.add(identity.id, { label: `n${i}` })
    ids.push(identity.id)
  }
  const trustFile = join(dir, 'trust.json')
  await trust.save(trustFile)
  return { ids, trustFile }
}

/** Writes a `peer start` configuration file with short QUIC idle timeouts and fast redials. */
export async function writeClusterConfig(file: string, discovery: unknown[]): Promise<void> {
  await writeFile(
    file,
    JSON.stringify({
      trust: 'trust.json',
      discovery,
      transport: { maxIdleTimeoutMs: 3000, keepAliveIntervalMs: 500 },
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      lostHysteresisMs: 500,
    }),
  )
}

/** Arguments of `peer start` for node `i` of a cluster whose files are in `dir`. */
export function startArgs(dir: string, i: number, port: number, config = 'cluster.json'): string[] {
  return [
    'start',
    '--json',
    '--config',
    join(dir, config),
    '--identity',
    join(dir, `n${i}`),
    '--name',
    `n${i}@localhost`,
    '--listen',
    `127.0.0.1:${port}`,
    '--stats',
    '0.3',
    '--chatter',
    '100',
    // the node also dies when the test process does (its stdin pipe closes)
    '--exit-with-stdin',
  ]
}

/** Waits for a node's `started` event, checks its id and returns its port. */
export async function waitStarted(p: PeerProcess, id: string, what: string): Promise<number> {
  const started = await p.waitFor(
    (x) => x.events.find((e) => e.event === 'started'),
    60_000,
    `${what} started`,
  )
  expect(started.id).toBe(id)
  return Number(started.port)
}

/** Waits until every node has every other node up (and exactly those), per its stats. */
export async function expectFullMesh(nodes: readonly PeerProcess[], ids: readonly string[]): Promise<void> {
  for (const [i, p] of nodes.entries()) {
    await p.waitFor(
      (x) => upNow(x).size === ids.length - 1,
      30_000,
      `n${i} to have ${ids.length - 1} peers up`,
    )
    expect([...upNow(p)].sort()).toEqual(ids.filter((_, j) => j !== i).sort())
    // every peer that is up was also printed as peer:up, including peers that connected while
    // the node was still starting (etcd, mDNS and DNS answer at once): a regression check
    await p.waitFor(
      (x) => upSet(x).size === ids.length - 1,
      5_000,
      `n${i} to print ${ids.length - 1} peer:up lines`,
    )
    expect([...upSet(p)].sort()).toEqual(ids.filter((_, j) => j !== i).sort())
  }
}

/**
 * Waits until `p`'s latest stats show `peers` peers up, each with more than `minimum` messages
 * sent and received and a measured RTT.
 */
export async function expectMessagesFlow(
  p: PeerProcess,
  peers: number,
  what: string,
  minimum = 5,
): Promise<void> {
  await p.waitFor(
    (x) => {
      const list = (latestStats(x)?.peers ?? []) as PeerStats[]
      return (
        list.length === peers &&
        list.every((q) => q.sent > minimum && q.received > minimum && typeof q.rtt === 'number')
      )
    },
    20_000,
    what,
  )
}

/** Pids of every descendant of `pid` (children first listed before their own children). */
function descendants(pid: number): number[] {
  let table: string
  try {
    table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
  } catch {
    return []
  }
  const children = new Map<number, number[]>()
  for (const line of table.split('\n')) {
    const [c, parent] = line.trim().split(/\s+/).map(Number)
    if (c === undefined || parent === undefined || Number.isNaN(c) || Number.isNaN(parent)) continue
    children.set(parent, [...(children.get(parent) ?? []), c])
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c)
      queue.push(c)
    }
  }
  return out
}

/** A crash: SIGKILL to the `peer` process and every process under it, then waits for the exit. */
export async function crash(p: PeerProcess): Promise<void> {
  const pid = p.child.pid
  if (pid !== undefined) {
    for (const c of descendants(pid).reverse()) {
      try {
        process.kill(c, 'SIGKILL')
      } catch {}
    }
  }
  p.child.kill('SIGKILL')
  await p.exited
}

/** Stops every process (SIGTERM, SIGKILL of the whole tree after a grace period). */
export async function stopAll(nodes: readonly PeerProcess[]): Promise<void> {
  await Promise.all(
    nodes.map(async (p) => {
      const timer = setTimeout(() => void crash(p), 8000)
      try {
        await p.stop('SIGTERM', 10_000)
      } finally {
        clearTimeout(timer)
      }
    }),
  )
}

/** A UDP port that is free on 127.0.0.1 right now (outside the ephemeral range: see testkit's ports). */
export function freeUdpPort(): Promise<number> {
  return freePort({ protocols: ['udp'] })
}

/**
 * The restart check shared by every backend: node `k` is killed with SIGKILL, every other node
 * reports `peer:down` for it (QUIC idle timeout), it is started again with the same identity and
 * port, and it rejoins: `peer:up` everywhere again and fresh messages both ways.
 */
export async function crashAndRestart(
  nodes: PeerProcess[],
  ids: readonly string[],
  k: number,
  restart: () => PeerProcess,
  port: number,
): Promise<void> {
  const victim = nodes[k]!
  const others = nodes.filter((_, j) => j !== k)
  const before = others.map((p) => p.events.length)
  await crash(victim)
  for (const [j, p] of others.entries()) {
    const down = await p.waitFor(
      (x) => x.events.slice(before[j]).find((e) => e.event === 'peer:down' && e.id === ids[k]),
      20_000,
      `peer:down n${k}`,
    )
    expect(down.reason).toBeDefined()
    await p.waitFor((x) => !upNow(x).has(ids[k]!), 5000, `n${k} gone from the stats`)
  }
  const marks = others.map((p) => p.events.length)
  const again = restart()
  nodes[k] = again
  const started = await again.waitFor((x) => x.events.find((e) => e.event === 'started'), 60_000, 'restart')
  expect(started).toMatchObject({ id: ids[k], port })
  await again.waitFor((x) => upNow(x).size === ids.length - 1, 30_000, `n${k} to rejoin`)
  for (const [j, p] of others.entries()) {
    await p.waitFor(
      (x) => x.events.slice(marks[j]).some((e) => e.event === 'peer:up' && e.id === ids[k]),
      30_000,
      `peer:up n${k} again`,
    )
  }
  await expectMessagesFlow(again, ids.length - 1, 'messages to and from the restarted node', 3)
  for (const [j, p] of others.entries()) {
    await p.waitFor(
      (x) => {
        const q = ((latestStats(x)?.peers ?? []) as PeerStats[]).find((e) => e.id === ids[k])
        return q !== undefined && x.events.slice(marks[j]).some((e) => e.event === 'stats') && q.received > 3
      },
      20_000,
      `n${k}'s messages at another node`,
    )
  }
}

/**
 * The three checks every backend's 5-process cluster runs: a full mesh, messages both ways with
 * every peer, and a SIGKILL of node `victim` followed by a restart with the same identity and port.
 * Arguments are getters because the suite fills them in `beforeAll`.
 */
export function itFormsExchangesAndHeals(c: {
  nodes: PeerProcess[]
  ids: () => readonly string[]
  victim: number
  restart: () => PeerProcess
  port: () => number
  /** How the restarted node is found again, for the test title ("through etcd"). */
  rejoin: string
}): void {
  it('every node connects to the other four', () => expectFullMesh(c.nodes, c.ids()), 60_000)

  it('messages flow both ways between every pair', async () => {
    for (const [i, p] of c.nodes.entries())
      await expectMessagesFlow(p, c.ids().length - 1, `n${i} to send to and receive from every peer`)
  }, 40_000)

  it(`survives a node killed with SIGKILL: peer:down everywhere, then it rejoins ${c.rejoin}`, async () => {
    await crashAndRestart(c.nodes, c.ids(), c.victim, c.restart, c.port())
  }, 120_000)
}

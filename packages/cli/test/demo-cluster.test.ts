// The demo supervisor on its own, with fake nodes that print bad input and fail on purpose:
// bounded buffers, junk ignored, failures reported, everything cleaned up.
import { getEventListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '@peer/discovery-core'
import { pidAlive } from '@peer/testkit/netns'
import { waitFor } from '@peer/testkit/wait'
import { warningsDuring, warningsNamed } from '@peer/testkit/warnings'
import { afterEach, describe, expect, it } from 'vitest'
import { DemoCluster, DemoConfigError, MAX_DEMO_NODES } from '../src/index.js'
import { MAX_STDERR_LINES } from '../src/internal.js'
import { cliRoot } from './helpers.js'

const fake = { file: process.execPath, args: [join(cliRoot, 'test', 'fixtures', 'fake-node.mjs')] }
let cluster: DemoCluster | undefined
/** The cluster's fake nodes ignore SIGTERM: a broken close must not leave them running. */
let stubborn = false

afterEach(async () => {
  const closing = cluster?.close(1000)
  if (stubborn) for (const pid of cluster?.pids() ?? []) process.kill(pid, 'SIGKILL')
  stubborn = false
  await closing
  cluster = undefined
  delete process.env.FAKE_FAIL
  delete process.env.FAKE_BUSY
  delete process.env.FAKE_IGNORE_TERM
})

/** The texts of the cluster's `failed` node events, in order, as they come. */
function failuresOf(c: DemoCluster): string[] {
  const failures: string[] = []
  c.addEventListener('node', (e) => {
    if (e.detail.fields?.state === 'failed') failures.push(e.detail.text)
  })
  return failures
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('DemoCluster', () => {
  it(`refuses fewer than 2 or more than ${MAX_DEMO_NODES} nodes`, () => {
    expect(() => new DemoCluster({ nodes: 1, command: fake })).toThrow(DemoConfigError)
    expect(() => new DemoCluster({ nodes: MAX_DEMO_NODES + 1, command: fake })).toThrow(ConfigError)
    expect(() => new DemoCluster({ nodes: 3, command: fake, services: { node4: ['kv'] } })).toThrow(
      /services: "node4" is not one of node1-node3/,
    )
    expect(() => new DemoCluster({ nodes: 3, command: fake, services: { node2: ['Bad'] } })).toThrow(
      DemoConfigError,
    )
  })

  it('ignores junk, oversized and truncated lines and bad numbers; keeps stderr bounded', async () => {
    cluster = new DemoCluster({ nodes: 2, command: fake })
    await cluster.start()
    const dir = cluster.directory!
    expect(existsSync(join(dir, 'trust.json'))).toBe(true)
    expect(existsSync(join(dir, 'node1', 'node.key'))).toBe(true)
    await until(() => cluster!.nodes.every((n) => n.state === 'up' && n.links.length === 1))
    const [n1] = cluster.nodes
    expect(n1!.port).toBe(40001)
    expect(n1!.links[0]).toMatchObject({ id: 'x', rtt: undefined, received: 0 })
    expect(n1!.rate).toBe(0)
    await until(() => cluster!.stderrOf(n1!).some((l) => l.includes('line 499')))
    expect(cluster.stderrOf(n1!)).toHaveLength(MAX_STDERR_LINES)
    const pids = cluster.pids()
    expect(pids).toHaveLength(2)
    await cluster.close(1000)
    expect(existsSync(dir)).toBe(false)
    expect(cluster.pids()).toEqual([])
    expect(cluster.nodes.every((n) => n.state === 'stopped')).toBe(true)
  })

  it('reports a node that exits unexpectedly, with its last stderr lines', async () => {
    process.env.FAKE_FAIL = 'node2'
    cluster = new DemoCluster({ nodes: 2, command: fake })
    const failures = failuresOf(cluster)
    await cluster.start()
    await until(() => failures.length > 0)
    expect(cluster.nodes[1]!.state).toBe('failed')
    expect(failures[0]).toContain('node2 exited unexpectedly (code 3)')
    expect(failures[0]).toContain('failing on purpose')
  })

  it('runs the nodes with the environment it is given, not only process.env', async () => {
    expect(process.env.FAKE_FAIL).toBeUndefined()
    cluster = new DemoCluster({ nodes: 2, command: fake, env: { ...process.env, FAKE_FAIL: 'node1' } })
    const failures = failuresOf(cluster)
    await cluster.start()
    await until(() => failures.length > 0)
    expect(failures[0]).toContain('node1 exited unexpectedly (code 3)')
    expect(cluster.nodes[1]!.state).not.toBe('failed')
  })

  it('a command that cannot be run is reported as a failed node, not an uncaught exception', async () => {
    const missing = { file: join(cliRoot, 'test', 'fixtures', 'no-such-peer-binary'), args: [] }
    cluster = new DemoCluster({ nodes: 2, command: missing })
    const failures = failuresOf(cluster)
    await cluster.start()
    await until(() => failures.length === 2)
    expect(cluster.nodes.every((n) => n.state === 'failed')).toBe(true)
    expect(failures[0]).toContain('ENOENT')
  })

  it('kill and restart: a killed node is not a failure; the restart runs it again', async () => {
    cluster = new DemoCluster({ nodes: 2, command: fake })
    const failures = failuresOf(cluster)
    await cluster.start()
    await until(() => cluster!.nodes.every((n) => n.state === 'up'))
    const victim = cluster.nodes[1]!
    const before = victim.pid
    cluster.kill(victim)
    await until(() => victim.pid === undefined)
    expect(victim.state).toBe('killed')
    cluster.restart(victim)
    await until(() => victim.state === 'up')
    expect(victim.pid).not.toBe(before)
    expect(victim.starts).toBe(2)
    expect(failures).toEqual([])
  })

  it('a restart right after a kill, before the killed child has closed: its close changes nothing', async () => {
    cluster = new DemoCluster({ nodes: 2, command: fake })
    const failures = failuresOf(cluster)
    const notes: string[] = []
    cluster.addEventListener('node', (e) => notes.push(e.detail.text))
    await cluster.start()
    await until(() => cluster!.nodes.every((n) => n.state === 'up'))
    const victim = cluster.nodes[1]!
    const old = victim.pid!
    cluster.kill(victim)
    cluster.restart(victim) // the old child's 'close' arrives after this
    const fresh = victim.pid!
    expect(fresh).not.toBe(old)
    // the old process is gone (reaped: its 'close' follows), and the new one runs
    await until(() => !pidAlive(old) && victim.state === 'up')
    await until(() => cluster!.stderrOf(victim).some((l) => l.includes('line 499')))
    expect(failures).toEqual([])
    expect(notes.filter((t) => t.includes('taken now'))).toEqual([])
    expect(victim.state).toBe('up')
    expect(victim.pid).toBe(fresh)
    expect(victim.starts).toBe(2)
    expect(cluster.pids()).toContain(fresh)
  })

  it('restarting a node whose process still runs replaces that process (none left running beside it)', async () => {
    process.env.FAKE_IGNORE_TERM = '1' // a node that stays up until SIGKILL
    stubborn = true
    cluster = new DemoCluster({ nodes: 2, command: fake })
    const failures = failuresOf(cluster)
    await cluster.start()
    await until(() => cluster!.nodes.every((n) => n.state === 'up'))
    const node = cluster.nodes[0]!
    const old = node.pid!
    cluster.restart(node)
    await until(() => node.state === 'up' && node.pid !== old)
    await until(() => !pidAlive(old))
    expect(cluster.pids()).not.toContain(old)
    expect(failures).toEqual([])
  })

  it('a restart whose old port is taken meanwhile moves to a free port and republishes the peer list', async () => {
    cluster = new DemoCluster({ nodes: 2, command: fake })
    const notes: string[] = []
    cluster.addEventListener('node', (e) => notes.push(e.detail.text))
    await cluster.start()
    await until(() => cluster!.nodes.every((n) => n.state === 'up'))
    await cluster.publish()
    const victim = cluster.nodes[1]!
    cluster.kill(victim)
    await until(() => victim.pid === undefined)
    process.env.FAKE_BUSY = '1' // the fake refuses any fixed port now
    const { readFile, writeFile } = await import('node:fs/promises')
    const file = join(cluster.directory!, 'peers.json')
    await writeFile(file, JSON.stringify({ version: 1, peers: [] }))
    cluster.restart(victim)
    await until(() => victim.state === 'up')
    expect(victim.starts).toBe(3)
    expect(notes.some((t) => t.includes('port 40002 is taken now'))).toBe(true)
    const deadline = Date.now() + 5000
    let peers: Array<{ id: string }> = []
    while (Date.now() < deadline && peers.length < 2) {
      peers = (JSON.parse(await readFile(file, 'utf8')) as { peers: Array<{ id: string }> }).peers
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(peers.map((p) => p.id).sort()).toEqual(cluster.nodes.map((n) => n.id).sort())
  })

  it('stops more than ten nodes at once with one listener on its hurry signal (no leak warning)', async () => {
    const c = new DemoCluster({ nodes: 12, command: fake })
    cluster = c
    await c.start()
    const pids = c.pids()
    expect(pids).toHaveLength(12)
    const warnings = await warningsDuring(() => c.close())
    expect(warningsNamed(warnings, 'MaxListenersExceededWarning')).toEqual([])
    expect(c.pids()).toEqual([])
  })

  describe('close({ signal }): an abort cuts the grace and kills the nodes at once', () => {
    /** A cluster of fake nodes that ignore SIGTERM (only SIGKILL stops them), started and ready. */
    async function startStubborn(): Promise<DemoCluster> {
      process.env.FAKE_IGNORE_TERM = '1'
      stubborn = true
      const started = new DemoCluster({ nodes: 2, command: fake })
      cluster = started
      await started.start()
      await waitFor(() => started.nodes.every((n) => started.stderrOf(n).includes('ignoring SIGTERM')), {
        timeoutMs: 120_000,
        what: 'the fake nodes to ignore SIGTERM',
      })
      return started
    }

    it('waits out the grace for nodes that ignore SIGTERM until the signal aborts, then kills them', async () => {
      const c = await startStubborn()
      const pids = c.pids()
      const dir = c.directory!
      const controller = new AbortController()
      let settled = false
      // a grace of an hour: only the abort can end this close in time
      const closing = c.close({ graceMs: 3_600_000, signal: controller.signal }).finally(() => {
        settled = true
      })
      expect(c.nodes.map((n) => n.state)).toEqual(['stopping', 'stopping'])
      // both got SIGTERM and ignored it: close is waiting out the grace
      await waitFor(() => c.nodes.every((n) => c.stderrOf(n).includes('got SIGTERM')), {
        timeoutMs: 120_000,
        what: 'the nodes to receive SIGTERM',
      })
      expect(settled).toBe(false)
      expect(pids.every(pidAlive)).toBe(true)
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
      controller.abort()
      await closing
      expect(pids.filter(pidAlive)).toEqual([])
      expect(c.pids()).toEqual([])
      expect(existsSync(dir)).toBe(false)
      expect(c.nodes.map((n) => n.state)).toEqual(['stopped', 'stopped'])
      // no listener stays on the signal, and a later close is the same finished teardown
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
      await c.close()
      // killed because the caller hurried, not because their stop hung
      expect(c.overdue).toEqual([])
    })

    it('nodes still running when the grace ends are killed and reported as overdue (a hung stop)', async () => {
      const c = await startStubborn()
      const pids = c.pids()
      await c.close({ graceMs: 200 })
      expect(pids.filter(pidAlive)).toEqual([])
      expect(c.nodes.every((n) => c.stderrOf(n).includes('got SIGTERM'))).toBe(true)
      expect([...c.overdue].sort()).toEqual(['node1', 'node2'])
    })

    it('a signal already aborted kills at once (no SIGTERM); close still resolves, no AbortError', async () => {
      const c = await startStubborn()
      const pids = c.pids()
      const dir = c.directory!
      await c.close({ graceMs: 3_600_000, signal: AbortSignal.abort() })
      expect(pids.filter(pidAlive)).toEqual([])
      expect(existsSync(dir)).toBe(false)
      expect(c.nodes.every((n) => !c.stderrOf(n).includes('got SIGTERM'))).toBe(true)
    })

    it('a later close with a signal cuts the grace of a close already running', async () => {
      const c = await startStubborn()
      const pids = c.pids()
      const first = c.close({ graceMs: 3_600_000 })
      await waitFor(() => c.nodes.every((n) => c.stderrOf(n).includes('got SIGTERM')), {
        timeoutMs: 120_000,
        what: 'the nodes to receive SIGTERM',
      })
      const controller = new AbortController()
      const second = c.close({ signal: controller.signal })
      controller.abort()
      await Promise.all([first, second])
      expect(pids.filter(pidAlive)).toEqual([])
    })

    it('a graceMs that is not a number >= 0 is a DemoConfigError, and nothing is stopped', async () => {
      const c = new DemoCluster({ nodes: 2, command: fake })
      cluster = c
      await c.start()
      for (const bad of [-1, Number.NaN]) {
        await expect(c.close({ graceMs: bad })).rejects.toMatchObject({
          name: 'DemoConfigError',
          option: 'graceMs',
        })
      }
      await expect(c.close(-1)).rejects.toBeInstanceOf(DemoConfigError)
      expect(c.nodes.every((n) => n.state !== 'stopping')).toBe(true)
      expect(existsSync(c.directory!)).toBe(true)
    })
  })
})

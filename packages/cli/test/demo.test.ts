// `peer demo` end to end: the scripted run completes, shows the crash (peer:down) and the rejoin,
// and leaves no processes or temp files; Ctrl-C stops it cleanly too.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { pidAlive } from '@peer/testkit/netns'
import { describe, expect, it } from 'vitest'
import { PeerProcess, repoRoot, runPeer } from './helpers.js'

type Event = Record<string, unknown>

function leftovers(events: Event[]): { pids: number[]; dir: string | undefined } {
  const pids = events
    .filter((e) => e.event === 'node' && typeof e.pid === 'number')
    .map((e) => e.pid as number)
  const dir = events.find((e) => e.event === 'step' && typeof e.dir === 'string')?.dir as string | undefined
  return { pids, dir }
}

describe('peer demo', () => {
  it('--nodes 3 --duration 8: forms, loses node3 (peer:down), restarts it, rejoins, cleans up', async () => {
    const r = await runPeer(['demo', '--nodes', '3', '--duration', '8', '--json'], { timeoutMs: 90_000 })
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event)
    expect(r.code, r.stderr).toBe(0)
    const done = events.find((e) => e.event === 'done')
    expect(done).toMatchObject({ ok: true, clean: true, nodes: 3, overdue: [] })
    expect(done!.downDetectedIn).toBeGreaterThan(0)
    expect(done!.rejoinedIn).toBeGreaterThan(0)

    const index = (pred: (e: Event) => boolean) => events.findIndex(pred)
    const formed = index((e) => e.event === 'step' && String(e.text).startsWith('cluster formed'))
    // up to 5 nodes, no service is shown
    expect(events.some((e) => e.event === 'step' && e.service !== undefined)).toBe(false)
    const killed = index((e) => e.event === 'node' && e.node === 'node3' && e.state === 'killed')
    const down1 = index((e) => e.event === 'peer:down' && e.node === 'node1' && e.peer === 'node3')
    const down2 = index((e) => e.event === 'peer:down' && e.node === 'node2' && e.peer === 'node3')
    const restart = index((e) => e.event === 'node' && e.node === 'node3' && e.state === 'restarting')
    const rejoined = index((e) => e.event === 'step' && String(e.text).startsWith('node3 rejoined'))
    expect(formed).toBeGreaterThan(0)
    expect(killed).toBeGreaterThan(formed)
    expect(down1).toBeGreaterThan(killed)
    expect(down2).toBeGreaterThan(killed)
    expect(restart).toBeGreaterThan(Math.max(down1, down2))
    expect(rejoined).toBeGreaterThan(restart)
    // after the restart, node3 is up again on both sides
    const after = events.slice(restart)
    expect(after.some((e) => e.event === 'peer:up' && e.node === 'node1' && e.peer === 'node3')).toBe(true)
    expect(after.some((e) => e.event === 'peer:up' && e.node === 'node3' && e.peer === 'node2')).toBe(true)

    const { pids, dir } = leftovers(events)
    expect(pids.length).toBeGreaterThanOrEqual(4) // 3 starts + 1 restart
    expect(pids.filter(pidAlive)).toEqual([])
    expect(dir).toBeDefined()
    expect(existsSync(dir!)).toBe(false)
  }, 100_000)

  it("runs as the root README shows it, options after npm's --", async () => {
    // `npm run demo -- --nodes 12` once reached the demo as `demo -- --nodes 12` ("too many arguments")
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'npm',
        ['run', '--silent', 'demo', '--', '--nodes', '2', '--duration', '1'],
        { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' }, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\] stopped 2 nodes; no processes left, temp dir removed/)
  }, 150_000)

  it('plain event lines when stdout is not a terminal', async () => {
    const r = await runPeer(['demo', '--nodes', '2', '--duration', '1'], { timeoutMs: 90_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\] cluster formed: every node has 1 peers up/)
    expect(r.stdout).toMatch(/\] node1: peer:down node2 \(/)
    expect(r.stdout).toMatch(/\] node2 rejoined/)
    expect(r.stdout).toMatch(/\] stopped 2 nodes; no processes left, temp dir removed/)
    expect(r.stdout).not.toContain('\u001b[') // no terminal control sequences
  }, 100_000)

  it('Ctrl-C (SIGINT) stops every node and removes the temp dir, exit 0', async () => {
    const p = new PeerProcess(['demo', '--nodes', '2', '--duration', '60', '--json'])
    await p.waitFor(
      (x) => x.events.some((e) => e.event === 'step' && String(e.text).startsWith('cluster formed')),
      60_000,
      'formed',
    )
    p.child.kill('SIGINT')
    const r = await p.exited
    expect(r.code, r.stderr).toBe(0)
    const events = p.events
    expect(events.some((e) => e.event === 'step' && e.text === 'interrupted: stopping')).toBe(true)
    expect(events.find((e) => e.event === 'done')).toMatchObject({ clean: true })
    const { pids, dir } = leftovers(events)
    expect(pids.filter(pidAlive)).toEqual([])
    expect(existsSync(dir!)).toBe(false)
  }, 100_000)

  it('bad --nodes exits 2: below 2, above 50, not an integer', async () => {
    for (const bad of ['1', '51', '2.5', 'five']) {
      const r = await runPeer(['demo', '--nodes', bad])
      expect(r.code, bad).toBe(2)
      expect(r.stderr).toContain('expected an integer in 2-50')
    }
  })

  it('--nodes 6: node2 and node5 provide "kv"; node1 sees both providers (peer services)', async () => {
    const r = await runPeer(['demo', '--nodes', '6', '--duration', '4', '--json'], { timeoutMs: 200_000 })
    expect(r.code, r.stderr).toBe(0)
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Event)
    expect(events.find((e) => e.event === 'done')).toMatchObject({ ok: true, clean: true, nodes: 6 })
    const sees = events.find((e) => e.event === 'step' && e.service === 'kv')
    expect(sees, 'the providers step').toBeDefined()
    expect(sees!.observer).toBe('node1')
    const providers = sees!.providers as Array<Record<string, unknown>>
    expect(providers.map((p) => p.node).sort()).toEqual(['node2', 'node5'])
    for (const p of providers) {
      expect(p.connected).toBe(true)
      expect(p.addresses).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)])
    }
    expect(String(sees!.text)).toMatch(
      /^node1 sees 2 providers of "kv" \(peer services\): node[25] 127\.0\.0\.1:\d+ connected/,
    )
    const { pids } = leftovers(events)
    expect(pids.filter(pidAlive)).toEqual([])
  }, 220_000)
})

import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { type RpcChild, spawnChild } from '../src/child-process.js'
import {
  connectVeth,
  createBridgeTopology,
  createNetns,
  deleteAllNetns,
  killNetnsPidsSync,
  listNetns,
  liveNetns,
  NETNS_PREFIX,
  NetemUnavailableError,
  netem,
  sweepStaleNamespaces,
} from '../src/netns.js'

const CHILD = fileURLToPath(new URL('./fixtures/rpc-child.ts', import.meta.url))

describe('netns', () => {
  const children: RpcChild[] = []
  afterAll(async () => {
    await Promise.all(children.map((c) => c.close()))
    await deleteAllNetns()
  })
  const child = async (netns: string) => {
    const c = await spawnChild(CHILD, { netns })
    children.push(c)
    return c
  }

  it('creates a unique namespace with lo up and multicast on lo, and deletes it', async () => {
    const ns = await createNetns({ label: 'lo' })
    expect(ns.name).toMatch(new RegExp(`^${NETNS_PREFIX}-${process.pid}-[0-9a-f]{8}-lo$`))
    expect(listNetns()).toContain(ns.name)
    const link = await ns.ip(['-br', 'link', 'show', 'lo'])
    expect(link.stdout).toMatch(/UNKNOWN|UP/)
    expect((await ns.ip(['route', 'show'])).stdout).toContain('224.0.0.0/4 dev lo')
    // two processes in the namespace exchange multicast over lo
    const a = await child(ns.name)
    const b = await child(ns.name)
    const port = await a.call<number>('udpListen', { port: 0, group: '239.1.2.3' })
    const got = a.nextEvent<{ msg: string }>('udp')
    await b.call('udpSend', { host: '239.1.2.3', port, msg: 'hello' })
    expect((await got).msg).toBe('hello')
    await ns.delete()
    await ns.delete()
    expect(listNetns()).not.toContain(ns.name)
    expect(liveNetns()).not.toContain(ns.name)
  })

  it('joins two namespaces with a veth pair', async () => {
    const a = await createNetns({ label: 'va' })
    const b = await createNetns({ label: 'vb' })
    await connectVeth(
      { ns: a, addresses: ['10.201.0.1/24', 'fd42::1/64'] },
      { ns: b, name: 'eth1', addresses: ['10.201.0.2/24', 'fd42::2/64'] },
    )
    expect((await b.ip(['-br', 'addr', 'show', 'eth1'])).stdout).toMatch(/UP\s+10\.201\.0\.2\/24 fd42::2\/64/)
    const ca = await child(a.name)
    const cb = await child(b.name)
    const port = await cb.call<number>('udpListen', {})
    const got = cb.nextEvent<{ msg: string; from: string }>('udp')
    await ca.call('udpSend', { host: '10.201.0.2', port, msg: 'over veth' })
    expect(await got).toEqual({ msg: 'over veth', from: '10.201.0.1' })
    // netem works, or says clearly that this kernel lacks it
    const applied = await netem(a, 'eth0', { delayMs: 50 }).then(
      () => true,
      (error: unknown) => {
        expect(error).toBeInstanceOf(NetemUnavailableError)
        return false
      },
    )
    if (applied) expect((await a.exec('tc', ['qdisc', 'show', 'dev', 'eth0'])).stdout).toContain('delay 50ms')
    await Promise.all([a.delete(), b.delete()])
  })

  it('builds a bridge topology whose bridge lives in its own namespace', async () => {
    const topo = await createBridgeTopology({ count: 3, subnet: '10.202.0', ipv6: true, label: 'br' })
    expect(topo.nodes.map((n) => n.ipv4)).toEqual(['10.202.0.1', '10.202.0.2', '10.202.0.3'])
    expect(
      (await topo.bridge.ip(['-br', 'link', 'show', 'master', 'br0'])).stdout.match(/veth\d/g),
    ).toHaveLength(3)
    // multicast from node 3 reaches nodes 1 and 2 through the bridge
    const [c1, c2, c3] = await Promise.all(topo.nodes.map((n) => child(n.ns.name)))
    const p1 = await c1!.call<number>('udpListen', { port: 45_353, group: '239.9.9.9' })
    await c2!.call<number>('udpListen', { port: 45_353, group: '239.9.9.9' })
    const got1 = c1!.nextEvent<{ from: string }>('udp')
    const got2 = c2!.nextEvent<{ from: string }>('udp')
    await c3!.call('udpSend', { host: '239.9.9.9', port: p1, msg: 'all' })
    expect((await got1).from).toBe('10.202.0.3')
    expect((await got2).from).toBe('10.202.0.3')
    const names = [topo.bridge.name, ...topo.nodes.map((n) => n.ns.name)]
    await topo.destroy()
    for (const n of names) expect(listNetns()).not.toContain(n)
  })

  it('sweeps namespaces left by a dead process, not those of live ones', async () => {
    // a pid that is certainly not running: a child that has already exited
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']),
    )
    const stale = `${NETNS_PREFIX}-${deadPid}-deadbeef-stale`
    const alive = `${NETNS_PREFIX}-${process.ppid}-cafebabe-alive`
    execFileSync('ip', ['netns', 'add', stale])
    execFileSync('ip', ['netns', 'add', alive])
    try {
      const swept = sweepStaleNamespaces()
      expect(swept).toContain(stale)
      expect(swept).not.toContain(alive)
      expect(listNetns()).not.toContain(stale)
      expect(listNetns()).toContain(alive)
    } finally {
      for (const n of [stale, alive]) {
        if (listNetns().includes(n)) execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' })
      }
    }
  })

  it('ends processes left inside a namespace when deleting it', async () => {
    const ns = await createNetns({ label: 'pids' })
    const proc = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '60'], { stdio: 'ignore' })
    await new Promise((r) => setTimeout(r, 200))
    expect(killNetnsPidsSync('no-such-namespace')).toEqual([])
    const exited = new Promise((resolve) => proc.once('exit', (_code, signal) => resolve(signal)))
    await ns.delete()
    expect(await exited).toBe('SIGKILL')
    expect(listNetns()).not.toContain(ns.name)
  })

  it('deletes its namespaces when the process exits', async () => {
    const script = `
      import { createNetns } from ${JSON.stringify(new URL('../src/netns.ts', import.meta.url).href)}
      const ns = await createNetns({ label: 'exit' })
      process.stdout.write(ns.name)
    `
    const name = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    })
    expect(name).toMatch(/-exit$/)
    expect(listNetns()).not.toContain(name)
  })
})

// Private test networks made of Linux network namespaces: every namespace (and every bridge) that a
// test uses is created here, named `<prefix>-<pid>-<random>...`, and deleted again in teardown, on
// process exit and on SIGINT/SIGTERM/SIGHUP (exit-cleanup.ts). Stale namespaces of crashed runs
// (whose pid is gone) are swept.
// Multicast only ever happens inside these namespaces, never in the root namespace.
//
// Two namespaces joined by a veth pair, a child process in each (see child-process.ts):
//
//   const [a, b] = await Promise.all([createNetns({ label: 'a' }), createNetns({ label: 'b' })])
//   await connectVeth({ ns: a, addresses: ['10.9.0.1/24', 'fd09::1/64'] },
//                     { ns: b, addresses: ['10.9.0.2/24', 'fd09::2/64'] })   // both eth0, UP
//   const server = await spawnChild(SERVER_TS, { netns: a.name })
//   const client = await spawnChild(CLIENT_TS, { netns: b.name })
//   // afterAll: await server.close(); await client.close(); await deleteAllNetns()
//
// Three namespaces on a bridge: `await createBridgeTopology({ count: 3, ipv6: true })`.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { onExit } from './exit-cleanup.js'

const run = promisify(execFile)

/** Prefix of every namespace this module creates; {@link sweepStaleNamespaces} looks for it. */
export const NETNS_PREFIX = 'peert'

/** Output of a command run inside a namespace. */
export interface ExecResult {
  stdout: string
  stderr: string
}

/** A network namespace created by {@link createNetns}; delete it with {@link Netns.delete}. */
export interface Netns {
  /** The namespace name (`ip netns exec <name> ...`). */
  readonly name: string
  /** Runs `ip netns exec <name> <cmd> <args...>` and returns its output; rejects on a non-zero exit. */
  exec(cmd: string, args?: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>
  /** Runs `ip -n <name> <args...>` (an `ip` command inside the namespace). */
  ip(args: readonly string[]): Promise<ExecResult>
  /** Deletes the namespace (its interfaces die with it). Idempotent. */
  delete(): Promise<void>
  /** Same as {@link Netns.delete}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link createNetns}. */
export interface CreateNetnsOptions {
  /** Short label put into the name for readability (letters, digits, `-`). */
  label?: string
  /** Bring `lo` up with the multicast flag and a 224.0.0.0/4 route on it. Default true. */
  loopbackMulticast?: boolean
  /** Turn off IPv6 duplicate address detection so IPv6 addresses work at once. Default true. */
  noDad?: boolean
  /**
   * Host names of the namespace (name -> IP), for processes started with `ip netns exec` (which
   * mounts `/etc/netns/<name>/` over `/etc`): its own `hosts` file (with `localhost`) and a
   * `resolv.conf` naming 127.0.0.1, so that a name outside `hosts` fails at once and no query ever
   * leaves the namespace. Removed with the namespace.
   */
  hosts?: Readonly<Record<string, string>>
}

const live = new Set<string>()
let hooksInstalled = false

/** True when this process can create namespaces (root with `ip netns`). */
export function canCreateNetns(): boolean {
  return process.getuid?.() === 0 && hasIp()
}

function hasIp(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** A unique namespace name: `<prefix>-<pid>-<8 hex>[-label]`. */
export function uniqueNetnsName(label?: string): string {
  const clean = label?.replace(/[^A-Za-z0-9-]/g, '').slice(0, 20)
  return `${NETNS_PREFIX}-${process.pid}-${randomBytes(4).toString('hex')}${clean ? `-${clean}` : ''}`
}

/**
 * Creates a uniquely named network namespace with `lo` up (multicast flag and a 224.0.0.0/4 route
 * on `lo`, so multicast works between processes inside it). The namespace is deleted by
 * {@link Netns.delete}, by {@link deleteAllNetns}, or when this process exits.
 */
export async function createNetns(options: CreateNetnsOptions = {}): Promise<Netns> {
  installExitHooks()
  const name = uniqueNetnsName(options.label)
  await run('ip', ['netns', 'add', name])
  live.add(name)
  const ns = makeNetns(name)
  try {
    if (options.noDad ?? true)
      await setSysctl(ns, ['net/ipv6/conf/all/accept_dad', 'net/ipv6/conf/default/accept_dad'], '0')
    await ns.ip(['link', 'set', 'lo', 'up'])
    if (options.hosts !== undefined) writeEtcFiles(name, options.hosts)
    if (options.loopbackMulticast ?? true) {
      await ns.ip(['link', 'set', 'lo', 'multicast', 'on'])
      await ns.ip(['route', 'add', '224.0.0.0/4', 'dev', 'lo'])
    }
  } catch (error) {
    await ns.delete()
    throw error
  }
  return ns
}

function makeNetns(name: string): Netns {
  const ns: Netns = {
    name,
    async exec(cmd, args = [], options = {}) {
      const { stdout, stderr } = await run('ip', ['netns', 'exec', name, cmd, ...args], {
        timeout: options.timeoutMs ?? 10_000,
        maxBuffer: 16 * 1024 * 1024,
      })
      return { stdout, stderr }
    },
    async ip(args) {
      const { stdout, stderr } = await run('ip', ['-n', name, ...args], { timeout: 10_000 })
      return { stdout, stderr }
    },
    async delete() {
      if (!live.has(name)) return
      live.delete(name)
      // a process still inside would keep the namespace alive, unnamed: end it first
      killNetnsPidsSync(name)
      await run('ip', ['netns', 'del', name]).catch(() => {})
      removeEtcFiles(name)
    },
    [Symbol.asyncDispose]() {
      return ns.delete()
    },
  }
  return ns
}

// /etc/netns/<name>/: what `ip netns exec` mounts over /etc for the processes it starts
const etcDir = (name: string) => `/etc/netns/${name}`

function writeEtcFiles(name: string, hosts: Readonly<Record<string, string>>): void {
  mkdirSync(etcDir(name), { recursive: true })
  const lines = [
    '127.0.0.1 localhost',
    '::1 localhost',
    ...Object.entries(hosts).map(([h, ip]) => `${ip} ${h}`),
  ]
  writeFileSync(`${etcDir(name)}/hosts`, `${lines.join('\n')}\n`)
  // a resolver inside the namespace that answers nothing: names outside `hosts` fail at once
  writeFileSync(`${etcDir(name)}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')
}

function removeEtcFiles(name: string): void {
  try {
    rmSync(etcDir(name), { recursive: true, force: true })
    rmdirSync('/etc/netns') // only when empty: it may have been made for this namespace
  } catch {
    // best effort (another namespace's files are there, or none ever were)
  }
}

// Writes /proc/sys entries inside the namespace (no sysctl binary needed); best effort: a kernel
// without IPv6 has no such entries, and DAD only delays IPv6.
async function setSysctl(ns: Netns, keys: readonly string[], value: string): Promise<void> {
  const script = keys.map((k) => `echo ${value} > /proc/sys/${k}`).join('; ')
  await ns.exec('sh', ['-c', script]).catch(() => {})
}

/** One end of a {@link connectVeth} link. */
export interface VethEnd {
  ns: Netns
  /** Interface name inside `ns`. Default `eth0` (first end) / `eth0` (second end). */
  name?: string
  /** Addresses with prefix length, e.g. `10.1.0.1/24`, `fd00::1/64`. */
  addresses?: readonly string[]
  /** Add a 224.0.0.0/4 route on this interface (for IPv4 multicast). Default true. */
  multicastRoute?: boolean
}

/**
 * Joins two namespaces with a veth pair, assigns the addresses, brings both ends up and waits until
 * both are UP. Addresses are added with `nodad` so IPv6 works at once.
 */
export async function connectVeth(
  a: VethEnd,
  b: VethEnd,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const an = a.name ?? 'eth0'
  const bn = b.name ?? 'eth0'
  // create with a temporary unique name in `a`, then move the peer into `b`
  const tmp = `vt${randomBytes(4).toString('hex')}`
  await a.ns.ip(['link', 'add', an, 'type', 'veth', 'peer', 'name', tmp])
  await a.ns.ip(['link', 'set', tmp, 'netns', b.ns.name])
  await b.ns.ip(['link', 'set', tmp, 'name', bn])
  for (const [end, dev] of [
    [a, an],
    [b, bn],
  ] as const) {
    await setupInterface(end.ns, dev, end.addresses ?? [], end.multicastRoute ?? true)
  }
  await Promise.all([waitLinkUp(a.ns, an, options), waitLinkUp(b.ns, bn, options)])
}

async function setupInterface(ns: Netns, dev: string, addresses: readonly string[], mcastRoute: boolean) {
  await setSysctl(ns, [`net/ipv6/conf/${dev}/accept_dad`], '0')
  for (const addr of addresses) {
    await ns.ip(['addr', 'add', addr, 'dev', dev, ...(addr.includes(':') ? ['nodad'] : [])])
  }
  await ns.ip(['link', 'set', dev, 'multicast', 'on', 'up'])
  if (mcastRoute) await ns.ip(['route', 'replace', '224.0.0.0/4', 'dev', dev])
}

/**
 * Waits until `dev` in `ns` reports state UP (`ip -br link`; a new veth can take up to a second)
 * and none of its IPv6 addresses is still tentative.
 */
export async function waitLinkUp(
  ns: Netns,
  dev: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  for (;;) {
    const { stdout } = await ns.ip(['-br', 'link', 'show', 'dev', dev]).catch(() => ({ stdout: '' }))
    if (/\sUP\s/.test(` ${stdout} `)) {
      const addrs = await ns.ip(['addr', 'show', 'dev', dev]).catch(() => ({ stdout: '' }))
      if (!addrs.stdout.includes('tentative')) return
    }
    if (Date.now() > deadline)
      throw new Error(`${dev} in ${ns.name} is not UP after ${options.timeoutMs ?? 10_000} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** A node of a {@link BridgeTopology}. */
export interface BridgeNode {
  ns: Netns
  /** Interface name inside `ns` (`eth0`). */
  iface: string
  /** IPv4 address without prefix length. */
  ipv4: string
  /** IPv6 ULA address without prefix length (when `ipv6` was asked for). */
  ipv6?: string
}

/** What {@link createBridgeTopology} returns. */
export interface BridgeTopology {
  /** The namespace that holds the bridge `br0` (and one `vethN` port per node). */
  bridge: Netns
  nodes: BridgeNode[]
  /** Deletes every namespace of the topology. Idempotent. */
  destroy(): Promise<void>
  /** Same as {@link BridgeTopology.destroy}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Options of {@link createBridgeTopology}. */
export interface BridgeTopologyOptions {
  /** Number of node namespaces. */
  count: number
  /** First three octets of the IPv4 /24, e.g. `10.77.0` (node i gets `.i`, 1-based). Default random 10.x.y. */
  subnet?: string
  /** Also give every node `fdXX::i/64`. Default false. */
  ipv6?: boolean
  /** Label for the namespace names. */
  label?: string
}

/**
 * Creates `count` namespaces joined by a bridge that itself lives in its own namespace (so nothing
 * touches the root namespace): node `i` has `eth0` with `<subnet>.<i>/24` and a 224.0.0.0/4 route
 * on `eth0`. Waits until every link is UP. Multicast snooping is off, so mDNS floods to every port.
 */
export async function createBridgeTopology(options: BridgeTopologyOptions): Promise<BridgeTopology> {
  const subnet = options.subnet ?? `10.${100 + (process.pid % 100)}.${randomBytes(1)[0]! % 250}`
  // written as the kernel prints it (no leading zeros in a group), so tests can compare strings
  const v6prefix = `fd${randomBytes(1).toString('hex')}:${(randomBytes(2).readUInt16BE() | 0x1000).toString(16)}::`
  const created: Netns[] = []
  const destroy = async () => {
    await Promise.all(created.map((ns) => ns.delete()))
  }
  try {
    const bridge = await createNetns({ label: `${options.label ?? 'topo'}-br`, loopbackMulticast: false })
    created.push(bridge)
    await bridge.ip([
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'mcast_snooping',
      '0',
      'stp_state',
      '0',
      'forward_delay',
      '0',
    ])
    await bridge.ip(['link', 'set', 'br0', 'up'])
    const nodes: BridgeNode[] = []
    for (let i = 1; i <= options.count; i++) {
      const ns = await createNetns({ label: `${options.label ?? 'topo'}-${i}` })
      created.push(ns)
      await bridge.ip(['link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name])
      await bridge.ip(['link', 'set', `veth${i}`, 'master', 'br0', 'up'])
      const ipv4 = `${subnet}.${i}`
      const node: BridgeNode = { ns, iface: 'eth0', ipv4 }
      const addrs = [`${ipv4}/24`]
      if (options.ipv6) {
        node.ipv6 = `${v6prefix}${i.toString(16)}`
        addrs.push(`${node.ipv6}/64`)
      }
      await setupInterface(ns, 'eth0', addrs, true)
      nodes.push(node)
    }
    await Promise.all(nodes.map((n) => waitLinkUp(n.ns, n.iface)))
    return { bridge, nodes, destroy, [Symbol.asyncDispose]: destroy }
  } catch (error) {
    await destroy()
    throw error
  }
}

/** Options of {@link netem}. */
export interface NetemOptions {
  delayMs?: number
  jitterMs?: number
  lossPercent?: number
}

/** The kernel has no `sch_netem` (some VM kernels ship without it): {@link netem} cannot work here. */
export class NetemUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('tc netem is not available in this kernel (sch_netem missing)', options)
    this.name = 'NetemUnavailableError'
  }
}

/**
 * Adds (or replaces) a `tc netem` qdisc on `dev` inside `ns`: delay, jitter, loss. Throws
 * {@link NetemUnavailableError} when the kernel lacks netem, so callers can fall back.
 */
export async function netem(ns: Netns, dev: string, options: NetemOptions): Promise<void> {
  const args = ['qdisc', 'replace', 'dev', dev, 'root', 'netem']
  if (options.delayMs !== undefined)
    args.push('delay', `${options.delayMs}ms`, ...(options.jitterMs ? [`${options.jitterMs}ms`] : []))
  if (options.lossPercent !== undefined) args.push('loss', `${options.lossPercent}%`)
  try {
    await ns.exec('tc', args)
  } catch (error) {
    if (/qdisc kind is unknown/i.test(String((error as { stderr?: string }).stderr ?? error))) {
      throw new NetemUnavailableError({ cause: error })
    }
    throw error
  }
}

/** Names of namespaces that currently exist (from /run/netns). */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns')
  } catch {
    return []
  }
}

/**
 * Deletes namespaces named `<prefix>-<pid>-...` whose creating process no longer runs: leftovers of
 * crashed runs. Namespaces of live processes (other test workers) are left alone. Returns the
 * names deleted.
 */
export function sweepStaleNamespaces(prefix = NETNS_PREFIX): string[] {
  const deleted: string[] = []
  const re = new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}-(\\d+)-`)
  for (const name of listNetns()) {
    const m = re.exec(name)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.pid || pidAlive(pid)) continue
    try {
      killNetnsPidsSync(name)
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
      deleted.push(name)
    } catch {
      // already gone
    }
    removeEtcFiles(name)
  }
  // /etc/netns entries of crashed runs whose namespace is gone already
  let dirs: string[] = []
  try {
    dirs = readdirSync('/etc/netns')
  } catch {
    // none
  }
  for (const name of dirs) {
    const m = re.exec(name)
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) removeEtcFiles(name)
  }
  return deleted
}

/** Whether a process with this pid runs (as far as this process may tell). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes every namespace this process created and has not deleted yet. */
export async function deleteAllNetns(): Promise<void> {
  const names = [...live]
  live.clear()
  for (const n of names) killNetnsPidsSync(n)
  await Promise.all(names.map((n) => run('ip', ['netns', 'del', n]).catch(() => {})))
  for (const n of names) removeEtcFiles(n)
}

/** Namespaces created by this process that still exist. */
export function liveNetns(): string[] {
  return [...live]
}

/** SIGKILLs every process still running inside namespace `name` (`ip netns pids`). */
export function killNetnsPidsSync(name: string): number[] {
  let pids: number[] = []
  try {
    pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 1 && pid !== process.pid)
  } catch {
    return []
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return pids
}

function deleteAllSync(): void {
  for (const name of live) {
    try {
      killNetnsPidsSync(name)
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
    } catch {
      // ignore
    }
    removeEtcFiles(name)
  }
  live.clear()
}

function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  sweepStaleNamespaces()
  onExit(deleteAllSync)
}

/**
 * True when this process runs inside a namespace made by this module (any process's: a
 * `<prefix>-*` entry of /run/netns with the same inode as `/proc/self/ns/net`). Multicast is
 * allowed only there; everywhere else (the root namespace) tests must not open mDNS sockets.
 */
export function inTestNetns(prefix = NETNS_PREFIX): boolean {
  try {
    const self = statSync('/proc/self/ns/net')
    return listNetns().some((name) => {
      if (!name.startsWith(`${prefix}-`)) return false
      try {
        const st = statSync(`/run/netns/${name}`)
        return st.ino === self.ino && st.dev === self.dev
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

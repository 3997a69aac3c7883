// Real etcd for tests: members of Debian's `etcd-server` bound to 127.0.0.1 on free ports with temp
// data dirs. Single member or 3-member clusters; kill -9, restart (optionally with an EMPTY data
// dir), compaction and etcdctl access; a TCP proxy (tcp-proxy.ts, re-exported) that can cut a
// client off without touching etcd.
// Everything is cleaned up by `close()`, and children are killed (temp dirs removed) if the test
// process exits or dies of SIGINT/SIGTERM/SIGHUP (exit-cleanup.ts).

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onExit } from './exit-cleanup.js'
import { freePort as freeTcpPort } from './ports.js'

/** Flags that make elections (and so start and restart) take ~0.1 s and allow 1 s leases. */
export const FAST_ELECTION = ['--heartbeat-interval', '10', '--election-timeout', '100'] as const

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Never leave an orphaned etcd behind: it would hold the port and fake the next run's readiness.
  onExit(() => {
    for (const child of children) child.kill('SIGKILL')
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {}
    }
  })
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A TCP port free on 127.0.0.1 right now (outside the ephemeral range: see ports.ts). */
export function freePort(): Promise<number> {
  return freeTcpPort({ protocols: ['tcp'] })
}

/** True when nothing listens on 127.0.0.1:`port` (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

function httpGet(url: string, timeoutMs = 500): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

async function isHealthy(clientPort: number): Promise<boolean> {
  try {
    const res = await httpGet(`http://127.0.0.1:${clientPort}/health`)
    return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true'
  } catch {
    return false
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** 1 (default) or 3 members. */
  members?: 1 | 3
  /** Use {@link FAST_ELECTION} (default true). */
  fast?: boolean
  /** More flags for every member. */
  extraArgs?: readonly string[]
  /** Longest wait for readiness, ms (default 15000). */
  readyTimeoutMs?: number
}

/** One etcd process. */
export interface EtcdMember {
  readonly name: string
  readonly clientPort: number
  readonly peerPort: number
  /** `http://127.0.0.1:<clientPort>` */
  readonly endpoint: string
  /** Current data dir (changes after a restart with `wipe`). */
  readonly dataDir: string
  readonly running: boolean
  readonly pid: number | undefined
}

/** A running etcd (one member or a cluster) owned by the test. */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[]
  /** Client endpoints of every member (`http://127.0.0.1:PORT`). */
  readonly endpoints: string[]
  /** The first member's endpoint. */
  readonly endpoint: string
  /** Kills member `index` (default 0) with `signal` (default SIGKILL) and waits for it to exit. */
  kill(index?: number, signal?: NodeJS.Signals): Promise<void>
  /**
   * Starts member `index` again on the same ports and waits until it is healthy. `wipe: true`
   * gives it an EMPTY data dir (single-member clusters only): a brand-new cluster with revision 1;
   * add `newClusterId: true` to also give it a new cluster token, so its cluster id changes too.
   */
  restart(index?: number, options?: { wipe?: boolean; newClusterId?: boolean }): Promise<void>
  /** Runs `etcdctl` (API v3) against `member` (default: every running member) and returns stdout. */
  etcdctl(args: readonly string[], options?: { member?: number; timeoutMs?: number }): Promise<string>
  /** The store's current revision. */
  revision(): Promise<number>
  /** Index of the member that is the raft leader now, if any running member knows one. */
  leader(): Promise<number | undefined>
  /** Waits until the running members agree on a leader and accept writes; returns its index. */
  waitForLeader(timeoutMs?: number): Promise<number>
  /** Compacts the key-value history up to `revision` (default: the current revision). */
  compact(revision?: number): Promise<number>
  /** Kills every member and removes the data dirs. Idempotent. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

interface MemberState {
  name: string
  clientPort: number
  peerPort: number
  dataDir: string
  logFile: string
  proc: ChildProcess | undefined
  exited: Promise<void> | undefined
  exitInfo: string
}

/** True when the etcd and etcdctl binaries are installed. */
export async function etcdInstalled(): Promise<boolean> {
  const check = (bin: string) =>
    new Promise<boolean>((resolve) =>
      execFile(bin, ['version'], { timeout: 5000 }, (error) => resolve(error === null)),
    )
  return (await check('etcd')) && (await check('etcdctl'))
}

/**
 * Starts a real etcd on loopback: `members` processes on free ports, each with its own temp data
 * dir, and waits until every member reports `{"health":"true"}`. Retries with new ports if a port
 * was taken in the meantime. Call `close()` in `afterAll`.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}

async function startOnce(options: StartEtcdOptions): Promise<EtcdCluster> {
  installExitHook()
  const count = options.members ?? 1
  const extra = [...(options.fast === false ? [] : FAST_ELECTION), ...(options.extraArgs ?? [])]
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000
  const root = join(tmpdir(), `peer-etcd-${process.pid}-${randomBytes(4).toString('hex')}`)
  mkdirSync(root, { recursive: true })
  tempDirs.add(root)
  let token = `peer-test-${randomBytes(6).toString('hex')}`

  const members: MemberState[] = []
  const taken = new Set<number>()
  for (let i = 0; i < count; i++) {
    let clientPort = await freePort()
    while (taken.has(clientPort)) clientPort = await freePort()
    taken.add(clientPort)
    let peerPort = await freePort()
    while (taken.has(peerPort)) peerPort = await freePort()
    taken.add(peerPort)
    members.push({
      name: `m${i}`,
      clientPort,
      peerPort,
      dataDir: join(root, `m${i}-data-0`),
      logFile: join(root, `m${i}.log`),
      proc: undefined,
      exited: undefined,
      exitInfo: '',
    })
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',')
  let generation = 0

  const spawnMember = async (m: MemberState, waitReady: boolean): Promise<void> => {
    for (const port of [m.clientPort, m.peerPort]) {
      // a stale etcd on the port would answer the readiness probe for us
      let free = await portIsFree(port)
      for (let i = 0; !free && i < 40; i++) {
        await sleep(50)
        free = await portIsFree(port)
      }
      if (!free) throw new Error(`port ${port} is busy (a stale etcd?)`)
    }
    mkdirSync(m.dataDir, { recursive: true })
    const client = `http://127.0.0.1:${m.clientPort}`
    const peer = `http://127.0.0.1:${m.peerPort}`
    const out = openSync(m.logFile, 'a')
    const proc = spawn(
      'etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        token,
        '--logger',
        'zap',
        '--log-outputs',
        'stderr',
        '--log-level',
        'warn',
        ...extra,
      ],
      { stdio: ['ignore', out, out] },
    )
    closeSync(out)
    children.add(proc)
    m.proc = proc
    m.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        m.exitInfo = `code=${code} signal=${signal}`
        children.delete(proc)
        if (m.proc === proc) m.proc = undefined
        resolve()
      })
      proc.once('error', () => {
        children.delete(proc)
        if (m.proc === proc) m.proc = undefined
        resolve()
      })
    })
    if (waitReady) await waitMemberReady(m)
  }

  const waitMemberReady = async (m: MemberState): Promise<void> => {
    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      if (m.proc === undefined) {
        throw new Error(`etcd ${m.name} exited early (${m.exitInfo}):\n${tail(m.logFile)}`)
      }
      if (await isHealthy(m.clientPort)) return
      if (Date.now() > deadline) {
        throw new Error(`etcd ${m.name} not healthy after ${readyTimeoutMs} ms:\n${tail(m.logFile)}`)
      }
      await sleep(25)
    }
  }

  const killMember = async (m: MemberState, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const proc = m.proc
    if (proc === undefined) return
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    await m.exited
  }

  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await Promise.all(members.map((m) => killMember(m)))
    rmSync(root, { recursive: true, force: true })
    tempDirs.delete(root)
  }

  try {
    // cluster members need each other to elect a leader: spawn all, then wait for each
    await Promise.all(members.map((m) => spawnMember(m, false)))
    await Promise.all(members.map((m) => waitMemberReady(m)))
  } catch (error) {
    await close()
    throw error
  }

  const endpoints = members.map((m) => `http://127.0.0.1:${m.clientPort}`)
  const member = (index: number): MemberState => {
    const m = members[index]
    if (m === undefined) throw new RangeError(`no etcd member ${index}`)
    return m
  }

  const etcdctl = (args: readonly string[], opts: { member?: number; timeoutMs?: number } = {}) =>
    new Promise<string>((resolve, reject) => {
      const eps =
        opts.member === undefined
          ? members.filter((m) => m.proc !== undefined).map((m) => `127.0.0.1:${m.clientPort}`)
          : [`127.0.0.1:${member(opts.member).clientPort}`]
      execFile(
        'etcdctl',
        [`--endpoints=${eps.join(',')}`, '--dial-timeout=2s', '--command-timeout=5s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: opts.timeoutMs ?? 10_000 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`etcdctl ${args.join(' ')} failed: ${stderr || error.message}`))
          else resolve(stdout)
        },
      )
    })

  const revision = async (): Promise<number> => {
    const out = await etcdctl(['get', '--prefix', '', '--limit', '1', '--keys-only', '-w', 'json'])
    const match = /"revision":(\d+)/.exec(out)
    if (!match) throw new Error(`no revision in etcdctl output: ${out.slice(0, 200)}`)
    return Number(match[1])
  }

  const leader = async (): Promise<number | undefined> => {
    for (let i = 0; i < members.length; i++) {
      if (members[i]!.proc === undefined) continue
      try {
        const out = await etcdctl(['endpoint', 'status', '-w', 'json'], { member: i, timeoutMs: 3000 })
        // ids are uint64: compare them as digit strings, never as numbers
        const self = /"member_id":(\d+)/.exec(out)?.[1]
        const lead = /"leader":(\d+)/.exec(out)?.[1]
        if (self !== undefined && self === lead) return i
      } catch {}
    }
    return undefined
  }

  const waitForLeader = async (timeoutMs = 15_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = await leader()
      if (index !== undefined) {
        try {
          await etcdctl(['put', '/peer-testkit/probe', String(Date.now())], {
            member: index,
            timeoutMs: 3000,
          })
          return index
        } catch {}
      }
      if (Date.now() > deadline) throw new Error(`no etcd leader within ${timeoutMs} ms`)
      await sleep(50)
    }
  }

  const cluster: EtcdCluster = {
    members: members.map((m) => ({
      get name() {
        return m.name
      },
      get clientPort() {
        return m.clientPort
      },
      get peerPort() {
        return m.peerPort
      },
      get endpoint() {
        return `http://127.0.0.1:${m.clientPort}`
      },
      get dataDir() {
        return m.dataDir
      },
      get running() {
        return m.proc !== undefined
      },
      get pid() {
        return m.proc?.pid
      },
    })),
    endpoints,
    endpoint: endpoints[0]!,
    kill: (index = 0, signal: NodeJS.Signals = 'SIGKILL') => killMember(member(index), signal),
    async restart(index = 0, opts = {}) {
      const m = member(index)
      if (opts.wipe === true && members.length > 1) {
        throw new Error('restart with an empty data dir is only supported for single-member clusters')
      }
      await killMember(m)
      if (opts.newClusterId === true && opts.wipe !== true) {
        throw new Error('a new cluster id needs an empty data dir (wipe: true)')
      }
      if (opts.wipe === true) {
        if (opts.newClusterId === true) token = `peer-test-${randomBytes(6).toString('hex')}`
        rmSync(m.dataDir, { recursive: true, force: true })
        generation++
        m.dataDir = join(root, `${m.name}-data-${generation}`)
      }
      await spawnMember(m, true)
    },
    etcdctl,
    revision,
    leader,
    waitForLeader,
    async compact(rev) {
      const target = rev ?? (await revision())
      await etcdctl(['compact', String(target), '--physical'])
      return target
    },
    close,
    [Symbol.asyncDispose]: close,
  }
  return cluster
}

// the proxy that cuts a client off from etcd lives in tcp-proxy.ts; kept here for existing imports
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './tcp-proxy.js'

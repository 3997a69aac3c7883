// A real dnsmasq for tests: bound to 127.0.0.1 on a free port, configured from a temp dir, serving
// only a local test domain (no upstream, no /etc/hosts, no system resolv.conf). Tests change the
// zone at run time with `update()`: A/AAAA changes go through `--hostsdir` (dnsmasq picks them up by
// inotify, no restart), SRV/TXT/CNAME changes restart dnsmasq on the same port (dnsmasq cannot
// reload them). Every instance is killed and its temp dir removed on `stop()`, on process exit and
// on SIGINT/SIGTERM/SIGHUP.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Resolver } from 'node:dns/promises'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SerialLock } from '@peer/discovery-core/internal'
import { onExit } from './exit-cleanup.js'
import { freePort } from './ports.js'

/** One SRV record. */
export interface SrvEntry {
  target: string
  port: number
  /** Default 10. */
  priority?: number
  /** Default 10. */
  weight?: number
}

/** The records a {@link DnsmasqServer} serves. Names are absolute, without the trailing dot. */
export interface DnsmasqZone {
  /** SRV RRsets by owner name. */
  srv: Record<string, SrvEntry[]>
  /** TXT records by owner name: each entry is one record's character strings. */
  txt: Record<string, string[]>
  /** A and AAAA addresses by host name (IPv4 and IPv6 mixed). */
  hosts: Record<string, string[]>
  /** CNAMEs: alias -> target (the target must be served locally, as dnsmasq requires). */
  cname: Record<string, string>
}

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /** The local domain dnsmasq is authoritative for (NXDOMAIN for unknown names in it). Default `peer.test`. */
  domain?: string
  /** TTL of every local answer (`--local-ttl`). Default 0 as in dnsmasq. */
  ttl?: number
  /** Initial records. */
  zone?: Partial<DnsmasqZone>
  /** Extra dnsmasq arguments. */
  extraArgs?: readonly string[]
  /** Readiness deadline in ms. Default 5000. */
  readyTimeoutMs?: number
}

/** A running dnsmasq. */
export interface DnsmasqServer {
  /** `127.0.0.1`. */
  readonly host: string
  /** The UDP and TCP port it listens on. */
  readonly port: number
  /** `127.0.0.1:<port>`, ready for a resolver list. */
  readonly address: string
  readonly domain: string
  /** Temp dir holding the configuration (removed on stop). */
  readonly dir: string
  /** How many times dnsmasq was (re)started. */
  readonly starts: number
  /** A copy of the current records. */
  zone(): DnsmasqZone
  /**
   * Changes the records: `change` mutates a copy of the zone; the new zone is then applied
   * (hostsdir for address-only changes, a restart otherwise) and the promise resolves once
   * dnsmasq serves it. Concurrent calls (and `restart`, `pause`, `resume`) run one after another,
   * each `change` seeing the zone the previous one left.
   */
  update(change: (zone: DnsmasqZone) => void): Promise<void>
  /** Restarts dnsmasq on the same port with the same records. */
  restart(): Promise<void>
  /** Stops dnsmasq (SIGTERM, then SIGKILL) without removing the temp dir; `resume()` starts it again. */
  pause(): Promise<void>
  /** Starts a paused dnsmasq again. */
  resume(): Promise<void>
  /** The last lines dnsmasq printed (bounded). */
  log(): string
  /** Kills dnsmasq and removes the temp dir. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const live = new Set<{ child: ChildProcess | undefined; dir: string }>()
let exitHookInstalled = false

function killAllSync(): void {
  for (const entry of live) {
    try {
      entry.child?.kill('SIGKILL')
    } catch {}
    try {
      rmSync(entry.dir, { recursive: true, force: true })
    } catch {}
  }
  live.clear()
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  onExit(killAllSync)
}

/** True when a `dnsmasq` binary is on the PATH (`tooling/scripts/setup-system.sh` installs it). */
export function hasDnsmasq(): boolean {
  if (dnsmasqFound) return true
  try {
    execFileSync('dnsmasq', ['--version'], { stdio: 'ignore' })
    dnsmasqFound = true
    return true
  } catch {
    return false
  }
}
let dnsmasqFound = false

/** A port that is free for both UDP and TCP on `host` right now (outside the ephemeral range). */
export function freeDualPort(host = '127.0.0.1'): Promise<number> {
  return freePort({ host, protocols: ['udp', 'tcp'] })
}

function emptyZone(): DnsmasqZone {
  return { srv: {}, txt: {}, hosts: {}, cname: {} }
}

function cloneZone(zone: DnsmasqZone): DnsmasqZone {
  return structuredClone(zone)
}

function quoteTxt(value: string): string {
  if (/["\\\n\r]/.test(value))
    throw new Error(`TXT value not supported by this helper: ${JSON.stringify(value)}`)
  return `"${value}"`
}

function configFor(zone: DnsmasqZone): string {
  const lines: string[] = []
  for (const [name, entries] of Object.entries(zone.srv)) {
    for (const e of entries) {
      lines.push(`srv-host=${name},${e.target},${e.port},${e.priority ?? 10},${e.weight ?? 10}`)
    }
  }
  for (const [name, values] of Object.entries(zone.txt)) {
    lines.push(`txt-record=${name}${values.length > 0 ? `,${values.map(quoteTxt).join(',')}` : ''}`)
  }
  for (const [alias, target] of Object.entries(zone.cname)) lines.push(`cname=${alias},${target}`)
  return `${lines.join('\n')}\n`
}

function hostsFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_')
}

/** Starts dnsmasq on 127.0.0.1:<free port>; resolves once it answers. */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<DnsmasqServer> {
  if (!hasDnsmasq()) {
    throw new Error(
      'dnsmasq is not installed: run tooling/scripts/setup-system.sh (Debian package dnsmasq-base)',
    )
  }
  installExitHook()
  const domain = options.domain ?? 'peer.test'
  const ttl = options.ttl ?? 0
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000
  const host = '127.0.0.1'
  const dir = mkdtempSync(join(tmpdir(), `peer-dnsmasq-${process.pid}-${randomBytes(3).toString('hex')}-`))
  const hostsDir = join(dir, 'hostsdir')
  const confDir = join(dir, 'conf.d')
  const confFile = join(confDir, 'records.conf')
  mkdirSync(hostsDir)
  mkdirSync(confDir)
  let zone: DnsmasqZone = { ...emptyZone(), ...cloneZone({ ...emptyZone(), ...options.zone }) }
  const entry: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir }
  live.add(entry)
  let port = 0
  let starts = 0
  let stopped = false
  let logTail = ''
  const readyName = `ready-${randomBytes(4).toString('hex')}.${domain}`
  const resolver = new Resolver({ timeout: 200, tries: 1 })

  const writeHosts = (z: DnsmasqZone, previous: DnsmasqZone | undefined): void => {
    for (const name of Object.keys(previous?.hosts ?? {})) {
      if (!(name in z.hosts)) rmSync(join(hostsDir, hostsFileName(name)), { force: true })
    }
    for (const [name, addrs] of Object.entries(z.hosts)) {
      if (previous && JSON.stringify(previous.hosts[name]) === JSON.stringify(addrs)) continue
      writeFileSync(join(hostsDir, hostsFileName(name)), addrs.map((a) => `${a} ${name}\n`).join(''))
    }
  }

  const launch = async (): Promise<void> => {
    writeFileSync(confFile, configFor(zone))
    const args = [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--pid-file=',
      '--user=root',
      `--port=${port}`,
      `--listen-address=${host}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      `--local=/${domain}/`,
      `--local-ttl=${ttl}`,
      `--hostsdir=${hostsDir}`,
      `--host-record=${readyName},127.0.0.1`,
      `--conf-dir=${confDir}`,
      '--log-facility=-',
      ...(options.extraArgs ?? []),
    ]
    const child = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    entry.child = child
    starts++
    const onData = (chunk: Buffer) => {
      logTail = (logTail + chunk.toString()).slice(-8192)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    let exited = false
    child.once('exit', () => {
      exited = true
    })
    child.once('error', (e) => {
      exited = true
      logTail += `\nspawn error: ${e.message}`
    })
    resolver.setServers([`${host}:${port}`])
    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      if (exited) throw new Error(`dnsmasq exited during start:\n${logTail}`)
      try {
        const addrs = await resolver.resolve4(readyName)
        if (addrs.includes('127.0.0.1')) return
      } catch {}
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`dnsmasq not ready after ${readyTimeoutMs} ms:\n${logTail}`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  const kill = async (): Promise<void> => {
    const child = entry.child
    entry.child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }

  const start = async (): Promise<void> => {
    let lastError: unknown
    for (let attempt = 0; attempt < 5; attempt++) {
      if (port === 0 || attempt > 0) port = await freeDualPort(host)
      try {
        await launch()
        return
      } catch (error) {
        lastError = error
        await kill()
      }
    }
    throw lastError
  }

  // waits until every host name in the zone answers with exactly its addresses
  const waitForHosts = async (z: DnsmasqZone, previous: DnsmasqZone): Promise<void> => {
    const names = new Set([...Object.keys(z.hosts), ...Object.keys(previous.hosts)])
    const deadline = Date.now() + readyTimeoutMs
    for (const name of names) {
      const want = [...(z.hosts[name] ?? [])].sort().join(',')
      for (;;) {
        const v4 = await resolver.resolve4(name).catch(() => [] as string[])
        const v6 = await resolver.resolve6(name).catch(() => [] as string[])
        const got = [...v4, ...v6].map((a) => a.toLowerCase()).sort()
        const wanted = want === '' ? [] : want.split(',').map(normaliseIp).sort()
        if (got.map(normaliseIp).sort().join(',') === wanted.join(',')) break
        if (Date.now() > deadline) throw new Error(`dnsmasq did not pick up the hosts change for ${name}`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
  }

  writeHosts(zone, undefined)
  /** Zone changes, restarts, pauses and resumes, one at a time (each restarts or waits on dnsmasq). */
  const lock = new SerialLock()
  try {
    await start()
  } catch (error) {
    live.delete(entry)
    rmSync(dir, { recursive: true, force: true })
    throw error
  }

  const server: DnsmasqServer = {
    host,
    get port() {
      return port
    },
    get address() {
      return `${host}:${port}`
    },
    domain,
    dir,
    get starts() {
      return starts
    },
    zone: () => cloneZone(zone),
    update: (change) =>
      lock.run(async () => {
        if (stopped) throw new Error('dnsmasq helper is stopped')
        const next = cloneZone(zone)
        change(next)
        const previous = zone
        zone = next
        writeHosts(next, previous)
        const needsRestart =
          JSON.stringify([previous.srv, previous.txt, previous.cname]) !==
          JSON.stringify([next.srv, next.txt, next.cname])
        if (needsRestart) {
          await kill()
          await launch()
        } else {
          await waitForHosts(next, previous)
        }
      }),
    restart: () =>
      lock.run(async () => {
        await kill()
        await launch()
      }),
    pause: () => lock.run(() => kill()),
    resume: () =>
      lock.run(async () => {
        if (entry.child === undefined) await launch()
      }),
    log: () => logTail,
    stop: () =>
      lock.run(async () => {
        if (stopped) return
        stopped = true
        await kill()
        live.delete(entry)
        rmSync(dir, { recursive: true, force: true })
      }),
    async [Symbol.asyncDispose]() {
      await this.stop()
    },
  }
  return server
}

function normaliseIp(ip: string): string {
  if (!ip.includes(':')) return ip
  // expand and re-compress through URL parsing for a canonical IPv6 form
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return ip.toLowerCase()
  }
}

// Avahi (avahi-daemon + avahi-utils) for mDNS interop tests, always inside a network namespace the
// test created: a private dbus-daemon (unix socket in a temp dir) replaces the system bus, and the
// daemon runs in a private mount namespace with its own /run and an empty services directory, so
// it never touches the host's Avahi, /run/avahi-daemon or /etc/avahi/services.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { onExit } from './exit-cleanup.js'
import { type Netns, pidAlive } from './netns.js'

const run = promisify(execFile)

/** The Avahi binaries are missing; `tooling/scripts/setup-system.sh` installs them. */
export class AvahiUnavailableError extends Error {
  constructor(missing: string[]) {
    super(
      `missing ${missing.join(', ')}: run tooling/scripts/setup-system.sh (installs avahi-daemon, avahi-utils, dbus)`,
    )
    this.name = 'AvahiUnavailableError'
  }
}

/** Names of the Avahi/dbus programs that are not installed. */
export function missingAvahiBinaries(): string[] {
  return ['avahi-daemon', 'avahi-browse', 'avahi-publish-service', 'dbus-daemon'].filter((bin) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
}

/** Options of {@link startAvahi}. */
export interface StartAvahiOptions {
  /** The namespace to run in (never the root namespace). */
  ns: Netns
  /** Interfaces Avahi may use. Default `['eth0']`. */
  interfaces?: readonly string[]
  /** Avahi's host name (`<hostName>.local`). Default unique. */
  hostName?: string
  /** Use IPv6 too. Default false. */
  ipv6?: boolean
  /** How long to wait for "Server startup complete". Default 15 s. */
  timeoutMs?: number
}

/** A running Avahi daemon with its private bus; see {@link startAvahi}. */
export interface Avahi {
  readonly ns: Netns
  /** `<hostName>.local` is Avahi's own host name. */
  readonly hostName: string
  /** Environment that points Avahi clients at the private bus. */
  readonly env: Record<string, string>
  /** Runs an Avahi client to completion inside the namespace (e.g. `avahi-browse -rpt _peer._udp`). */
  exec(cmd: string, args: readonly string[], options?: { timeoutMs?: number }): Promise<string>
  /** Starts a long-running client inside the namespace (e.g. `avahi-publish-service`); killed by `close()`. */
  spawn(cmd: string, args: readonly string[]): AvahiClient
  /** The daemon's log so far. */
  log(): string
  /** Kills clients, the daemon and the bus, and deletes the temp dir. Idempotent. */
  close(): Promise<void>
}

/** A long-running Avahi client process. */
export interface AvahiClient {
  readonly process: ChildProcess
  /** Everything it printed (stdout and stderr). */
  output(): string
  /** Resolves when its output matches `pattern`; rejects after `timeoutMs` or when it exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
/** Temp dirs of daemons not closed yet (removed on exit, like the processes killed). */
const liveDirs = new Set<string>()
let exitHook = false

function installExitHook(): void {
  if (exitHook) return
  exitHook = true
  onExit(() => {
    for (const p of running) p.kill('SIGKILL')
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true })
      } catch {}
    }
  })
}

function track(proc: ChildProcess): void {
  installExitHook()
  running.add(proc)
  proc.on('exit', () => running.delete(proc))
}

const DIR_PREFIX = 'peer-avahi-'
const STALE_DIR = new RegExp(`^${DIR_PREFIX}(\\d+)-`)

/**
 * Removes `peer-avahi-<pid>-*` temp dirs whose process no longer runs: leftovers of runs killed
 * before they could clean up (a SIGKILL, or a signal with no handler). Returns the paths removed.
 */
export function sweepStaleAvahiDirs(parent = tmpdir()): string[] {
  const removed: string[] = []
  for (const name of readdirSync(parent)) {
    const m = STALE_DIR.exec(name)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.pid || pidAlive(pid)) continue
    const path = join(parent, name)
    rmSync(path, { recursive: true, force: true })
    removed.push(path)
  }
  return removed
}

function collect(proc: ChildProcess): {
  text: () => string
  wait: (re: RegExp, ms: number) => Promise<void>
} {
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    out += chunk.toString()
    if (out.length > 1_000_000) out = out.slice(-500_000)
    for (const w of waiters) w()
  }
  proc.stdout?.on('data', onData)
  proc.stderr?.on('data', onData)
  return {
    text: () => out,
    wait: (re, ms) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            done()
            resolve()
          }
        }
        const onExit = () => {
          done()
          reject(new Error(`process exited before printing ${re}:\n${out.slice(-2000)}`))
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no ${re} within ${ms} ms:\n${out.slice(-2000)}`))
        }, ms)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
          proc.off('exit', onExit)
        }
        waiters.add(check)
        proc.once('exit', onExit)
        check()
      }),
  }
}

function stopProcess(proc: ChildProcess, graceMs = 2000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
    proc.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    proc.kill('SIGTERM')
  })
}

/**
 * Starts a private dbus-daemon and avahi-daemon inside `options.ns` and waits until Avahi is
 * ready. Throws {@link AvahiUnavailableError} when the binaries are missing.
 */
export async function startAvahi(options: StartAvahiOptions): Promise<Avahi> {
  const missing = missingAvahiBinaries()
  if (missing.length > 0) throw new AvahiUnavailableError(missing)
  const { ns } = options
  sweepStaleAvahiDirs()
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`))
  liveDirs.add(dir)
  const services = join(dir, 'services')
  mkdirSync(services)
  const hostName = options.hostName ?? `avahi-${randomBytes(3).toString('hex')}`
  const socket = join(dir, 'dbus.sock')
  writeFileSync(
    join(dir, 'dbus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  )
  writeFileSync(
    join(dir, 'avahi-daemon.conf'),
    `[server]
host-name=${hostName}
domain-name=local
use-ipv4=yes
use-ipv6=${options.ipv6 ? 'yes' : 'no'}
allow-interfaces=${(options.interfaces ?? ['eth0']).join(',')}
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
[rlimits]
`,
  )
  const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` }
  const procs: ChildProcess[] = []
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    for (const p of [...procs].reverse()) await stopProcess(p)
    rmSync(dir, { recursive: true, force: true })
    liveDirs.delete(dir)
  }
  try {
    const dbus = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns.name,
        'dbus-daemon',
        `--config-file=${join(dir, 'dbus.conf')}`,
        '--nofork',
        '--nopidfile',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    track(dbus)
    procs.push(dbus)
    const deadline = Date.now() + 5000
    while (!existsSocket(socket)) {
      if (Date.now() > deadline || dbus.exitCode !== null)
        throw new Error('private dbus-daemon did not start')
      await new Promise((r) => setTimeout(r, 20))
    }
    const script =
      'mount -t tmpfs tmpfs /run && mount --bind "$0" /etc/avahi/services && exec avahi-daemon -f "$1" --no-drop-root --no-chroot --no-rlimits --no-proc-title --debug'
    const daemon = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns.name,
        'unshare',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        services,
        join(dir, 'avahi-daemon.conf'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    )
    track(daemon)
    procs.push(daemon)
    const daemonLog = collect(daemon)
    await daemonLog.wait(/Server startup complete/, options.timeoutMs ?? 15_000)
    return {
      ns,
      hostName,
      env,
      async exec(cmd, args, opts = {}) {
        const { stdout } = await run('ip', ['netns', 'exec', ns.name, cmd, ...args], {
          env: { ...process.env, ...env },
          timeout: opts.timeoutMs ?? 15_000,
        })
        return stdout
      },
      spawn(cmd, args) {
        const proc = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...env },
        })
        track(proc)
        procs.push(proc)
        const out = collect(proc)
        return {
          process: proc,
          output: out.text,
          waitFor: (re, ms = 10_000) => out.wait(re, ms),
          stop: () => stopProcess(proc),
        }
      },
      log: daemonLog.text,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

function existsSocket(path: string): boolean {
  try {
    return statSync(path).isSocket()
  } catch {
    return false
  }
}

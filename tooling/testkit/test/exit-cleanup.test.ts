import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { listNetns } from '../src/netns.js'
import { waitFor } from '../src/wait.js'

const src = (file: string) => JSON.stringify(new URL(`../src/${file}`, import.meta.url).href)
const HELPER = src('exit-cleanup.ts')
const RPC_CHILD = JSON.stringify(fileURLToPath(new URL('./fixtures/rpc-child.ts', import.meta.url)))

/** False once `pid` is gone or a zombie (killed, not reaped yet by whoever inherited it). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

// a child whose test failed (e.g. it ignored a signal) is killed, not left to its 60 s timer
const children = new Set<ChildProcess>()
afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  /** What the cleanups wrote, in order. */
  lines: string[]
}

/**
 * Runs `body` in a fresh Node.js process with `onExit` imported and `say(text)` writing a line to
 * stdout synchronously (so the order survives an exit). The process prints `ready` when `body` ran;
 * `signal`, if given, is sent then.
 */
function run(body: string, signal?: NodeJS.Signals): Promise<Outcome> {
  const script = `
    import { writeSync } from 'node:fs'
    import { onExit } from ${HELPER}
    const say = (text) => writeSync(1, text + '\\n')
    ${body}
    say('ready')
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  let out = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    const first = !out.includes('ready\n')
    out += chunk
    if (signal && first && out.includes('ready\n')) child.kill(signal)
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, sig) => {
      resolve({ code, signal: sig, lines: out.split('\n').filter((l) => l && l !== 'ready') })
    })
  })
}

describe('onExit', () => {
  it('runs every cleanup once at a normal exit, newest first', async () => {
    const outcome = await run(`
      onExit(() => say('first'))
      onExit(() => say('second'))
      process.exitCode = 3
    `)
    expect(outcome).toEqual({ code: 3, signal: null, lines: ['second', 'first'] })
  })

  it('runs the cleanups on SIGTERM, SIGINT and SIGHUP, then dies of the signal', async () => {
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      // a timer keeps the process alive until the signal comes
      const outcome = await run(`onExit(() => say('cleaned')); setTimeout(() => {}, 60_000)`, signal)
      expect(outcome).toEqual({ code: null, signal, lines: ['cleaned'] })
    }
  })

  it('leaves the decision to another listener of the signal, and cleans up only once', async () => {
    const outcome = await run(
      `
      onExit(() => say('cleaned'))
      process.on('SIGTERM', () => { say('handled'); process.exit(7) })
      setTimeout(() => {}, 60_000)
      `,
      'SIGTERM',
    )
    // the cleanup ran on the signal; the 'exit' that followed found nothing left to do
    expect(outcome).toEqual({ code: 7, signal: null, lines: ['cleaned', 'handled'] })
  })

  it('runs the other cleanups when one throws', async () => {
    const outcome = await run(`
      onExit(() => say('first'))
      onExit(() => { throw new Error('broken cleanup') })
      onExit(() => say('third'))
    `)
    expect(outcome).toEqual({ code: 0, signal: null, lines: ['third', 'first'] })
  })

  it('forgets a cleanup that was unregistered, and keeps two registrations of one function apart', async () => {
    const outcome = await run(`
      const cleanup = () => say('cleaned')
      const forget = onExit(cleanup)
      onExit(cleanup)
      onExit(() => say('kept'))
      forget()
    `)
    expect(outcome).toEqual({ code: 0, signal: null, lines: ['kept', 'cleaned'] })
  })

  it('leaves no etcd, dnsmasq, namespace, child process or temp dir behind when a test process gets SIGTERM', async () => {
    const outcome = await run(
      `
      const { dirname } = await import('node:path')
      const { startEtcd } = await import(${src('etcd.ts')})
      const { startDnsmasq } = await import(${src('dnsmasq.ts')})
      const { createNetns } = await import(${src('netns.ts')})
      const { spawnChild } = await import(${src('child-process.ts')})
      const etcd = await startEtcd()
      const dns = await startDnsmasq()
      const ns = await createNetns({ label: 'sigterm' })
      const child = await spawnChild(${RPC_CHILD})
      say(JSON.stringify({ etcd: etcd.members[0].pid, etcdDir: dirname(etcd.members[0].dataDir), dnsDir: dns.dir, ns: ns.name, child: child.pid }))
      setTimeout(() => {}, 60_000)
      `,
      'SIGTERM',
    )
    const made = JSON.parse(outcome.lines[0] ?? '{}')
    try {
      expect(outcome.signal).toBe('SIGTERM')
      expect(made.ns).toMatch(/-sigterm$/)
      expect(listNetns()).not.toContain(made.ns)
      // SIGKILLed before the process died; the kernel may take a moment to finish them
      for (const pid of [made.etcd, made.child]) {
        await waitFor(() => !alive(pid), { timeoutMs: 30_000, what: `pid ${pid} to be gone` })
      }
      for (const dir of [made.etcdDir, made.dnsDir]) expect(existsSync(dir)).toBe(false)
    } finally {
      // what the hooks under test failed to remove
      for (const pid of [made.etcd, made.child]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
      for (const dir of [made.etcdDir, made.dnsDir]) if (dir) rmSync(dir, { recursive: true, force: true })
      if (made.ns && listNetns().includes(made.ns)) execFileSync('ip', ['netns', 'del', made.ns])
    }
  })
})

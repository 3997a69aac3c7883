import { existsSync } from 'node:fs'
import { type AbortOptions, delay, shortId, throwIfAborted } from '@peer/discovery-core'
import { toError } from '@peer/discovery-core/internal'
import { Command } from 'commander'
import { type DemoCluster as Cluster, DemoCluster } from './demo-cluster.js'
import { DEFAULT_DEMO_NODES, type DemoEventDetail, MAX_DEMO_NODES } from './demo-types.js'
import { durationMs, secondsFlag } from './durations.js'
import { CliError } from './errors.js'
import { parseInteger, parseSeconds } from './flag-numbers.js'
import { demoStatsLine, renderDemoTable } from './live-table.js'
import { type CliIo, Output } from './output.js'
import { readServices } from './serve-status.js'
import { shutdownSignal } from './shutdown.js'

/** How long a node gets to exit after SIGTERM at the end of the demo (then: SIGKILL, a failure). */
const STOP_GRACE_MS = 5000

/**
 * Options of {@link demo}. `signal` stops it as Ctrl-C does: every node stops, the temporary
 * directory is removed, `done` is printed and the command resolves. A signal already aborted at
 * the call rejects with an `AbortError`, and nothing starts.
 */
export interface DemoOptions extends AbortOptions {
  /** Number of nodes. Default 5. */
  nodes?: number | undefined
  /**
   * How long the scripted run lasts, ms (it waits for the rejoin if that takes longer). Default
   * 20,000 (`--duration <seconds>` on the command line).
   */
  durationMs?: number | undefined
  /**
   * Same as `durationMs`, in seconds.
   *
   * @deprecated Use `durationMs` (milliseconds); `duration` is in seconds and accepted until the
   * next minor version.
   */
  duration?: number | undefined
  /** Draw the live table when stdout is a terminal. Default true. */
  table?: boolean | undefined
  /**
   * Print one JSON object per line instead of text and no live table: the `step`, `node`,
   * `peer:up` and `peer:down` events, a `table` of the nodes every 5 s, and a final `done`.
   */
  json?: boolean | undefined
  /** How to run `peer` for the nodes. Default: this process's executable, flags and script. */
  command?: { file: string; args: readonly string[] } | undefined
}

/** Most event lines kept under the live table. */
export const MAX_TABLE_EVENTS = 10
/** The named service some nodes provide when the demo runs more than {@link DEFAULT_DEMO_NODES} nodes. */
export const DEMO_SERVICE = 'kv'

/**
 * Which nodes provide {@link DEMO_SERVICE} in a demo of `n` nodes: none up to the default size,
 * else every third node from node2 (never the last one, which the script kills).
 */
export function demoServices(n: number): Record<string, string[]> {
  const services: Record<string, string[]> = {}
  if (n <= DEFAULT_DEMO_NODES) return services
  for (let i = 2; i < n; i += 3) services[`node${i}`] = [DEMO_SERVICE]
  return services
}

class Interrupted extends Error {}

/**
 * `peer demo`: N local nodes as separate `peer start` processes on loopback (static discovery,
 * generated identities, one shared trust list), demo traffic between them, a live table (or plain
 * event lines when stdout is not a terminal), then a scripted failure: one node is killed
 * (SIGKILL), every other node reports `peer:down`, the node is restarted with the same identity
 * and rejoins. With more than {@link DEFAULT_DEMO_NODES} nodes, some nodes provide the named
 * service {@link DEMO_SERVICE} and the demo shows its providers as node1 sees them. Ends by itself
 * after `--duration`, or on Ctrl-C; either way every process is stopped and the temporary
 * directory removed.
 */
export async function demo(options: DemoOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  // the script counts in seconds (cluster.elapsed())
  const duration =
    durationMs(
      options,
      { current: 'durationMs', deprecated: 'duration', seconds: true, owner: '@peer/cli demo' },
      20_000,
    ) / 1000
  const out = new Output(io, options)
  const n = options.nodes ?? DEFAULT_DEMO_NODES
  const services = demoServices(n)
  // a terminal that reports no size (rows 0) cannot hold a redrawn table: plain lines then
  const rows = (io.stdout as { rows?: number }).rows ?? 0
  const live = !out.json && options.table !== false && io.stdout.isTTY === true && rows > 0
  const cluster = new DemoCluster({
    nodes: n,
    services,
    // the demo traffic goes to every peer: keep each node's total rate as with the default size
    chatterMs: Math.round((100 * Math.max(n, DEFAULT_DEMO_NODES)) / DEFAULT_DEMO_NODES),
    command: options.command ?? {
      file: process.execPath,
      args: [...process.execArgv, process.argv[1] ?? ''],
    },
    env: io.env,
  })
  // a closed pipe (the terminal or npm went away) must not stop the cleanup
  const ignore = () => {}
  process.stdout.on('error', ignore)
  process.stderr.on('error', ignore)

  const recent: string[] = []
  let stopping = false
  const print = (kind: string, d: DemoEventDetail) => {
    // the shutdown's peer:down lines would only bury the result
    if (stopping && (kind === 'peer:up' || kind === 'peer:down')) return
    if (out.json) {
      out.event(kind, { t: round(d.t), node: d.node, peer: d.peer, text: d.text, ...d.fields })
      return
    }
    const line = `[${d.t.toFixed(1).padStart(5)}s] ${d.text}`
    if (live) {
      recent.push(line)
      if (recent.length > MAX_TABLE_EVENTS) recent.shift()
    } else io.stdout.write(`${line}\n`)
  }
  for (const kind of ['step', 'node', 'peer:up', 'peer:down'] as const) {
    cluster.addEventListener(kind, (e) => print(kind, e.detail))
  }

  let draw: ((text: string) => void) & { done(): void; clear(): void }
  let timer: NodeJS.Timeout | undefined
  if (live) {
    const { createLogUpdate } = await import('log-update')
    draw = createLogUpdate(io.stdout as NodeJS.WriteStream)
    const redraw = () =>
      draw(renderDemoTable(cluster, { duration, events: recent, width: io.stdout.columns }))
    timer = setInterval(redraw, 250)
  } else {
    timer = setInterval(() => {
      if (stopping || !cluster.nodes.some((x) => x.state === 'up')) return
      if (out.json) {
        out.event('table', {
          t: round(cluster.elapsed()),
          nodes: cluster.nodes.map((x) => ({
            node: x.name,
            id: x.id,
            state: x.state,
            pid: x.pid,
            port: x.port,
            peers: x.up.size,
            rtt: meanRtt(x.links.map((l) => l.rtt)),
            rate: Math.round(x.rate),
          })),
        })
      } else
        io.stdout.write(`[${cluster.elapsed().toFixed(1).padStart(5)}s] stats: ${demoStatsLine(cluster)}\n`)
    }, 5000)
    out.note(
      `peer demo: ${n} nodes on 127.0.0.1 over QUIC with mutual TLS, static discovery, ${duration} s` +
        (out.json ? '' : ' (plain event lines: stdout is not a terminal; Ctrl-C to stop)'),
    )
  }

  const shutdown = shutdownSignal({ signal: options.signal })
  const signal = shutdown.signal
  let failure: Error | undefined
  const summary: Record<string, unknown> = { nodes: n }
  try {
    await cluster.start({ signal })
    await until(
      () => cluster.nodes.every((x) => x.state === 'up'),
      60_000 + n * 3000,
      'every node to start',
      signal,
      cluster,
    )
    await cluster.publish({ signal })
    cluster.step(`peers.json now lists all ${n} nodes; static discovery reports them, the registries dial`)
    const formingFrom = cluster.elapsed()
    await until(() => cluster.formed(), 30_000 + n * 1000, 'the cluster to form', signal, cluster)
    summary.formedIn = round(cluster.elapsed() - formingFrom)
    cluster.step(`cluster formed: every node has ${n - 1} peers up (${summary.formedIn} s)`, {
      formedIn: summary.formedIn,
    })

    const providers = Object.keys(services)
    if (providers.length > 0) await showProviders(cluster, providers, signal)

    const victim = cluster.nodes[n - 1]!
    const others = cluster.nodes.filter((x) => x !== victim)
    await sleepUntil(cluster, Math.max(cluster.elapsed() + 2, duration * 0.35), signal)
    cluster.kill(victim)
    const killedAt = cluster.elapsed()
    await until(
      () => others.every((x) => !x.up.has(victim.id)),
      30_000,
      `every node to report peer:down ${victim.name}`,
      signal,
      cluster,
    )
    summary.downDetectedIn = round(cluster.elapsed() - killedAt)
    cluster.step(
      `every node reported peer:down ${victim.name} (${summary.downDetectedIn} s after the kill)`,
      {
        downDetectedIn: summary.downDetectedIn,
      },
    )
    await sleepUntil(cluster, cluster.elapsed() + 1, signal)
    cluster.restart(victim)
    const restartedAt = cluster.elapsed()
    await until(() => cluster.formed(), 30_000 + n * 1000, `${victim.name} to rejoin`, signal, cluster)
    summary.rejoinedIn = round(cluster.elapsed() - restartedAt)
    cluster.step(
      `${victim.name} rejoined: all ${n} nodes connected again (${summary.rejoinedIn} s after the restart)`,
      {
        rejoinedIn: summary.rejoinedIn,
      },
    )
    await sleepUntil(cluster, duration, signal)
    cluster.step(`${duration} s elapsed: stopping`)
    stopping = true
  } catch (error) {
    stopping = true
    if (error instanceof Interrupted || signal.aborted) cluster.step('interrupted: stopping')
    else failure = toError(error)
  } finally {
    shutdown.dispose()
    const pids = cluster.nodes.map((x) => x.pid).filter((p): p is number => p !== undefined)
    const dir = cluster.directory
    await cluster.close({ graceMs: STOP_GRACE_MS })
    clearInterval(timer)
    if (live) {
      draw!(renderDemoTable(cluster, { duration, events: recent, width: io.stdout.columns }))
      draw!.done()
    }
    const leftovers = pids.filter(alive)
    const dirLeft = dir !== undefined && existsSync(dir)
    const clean = leftovers.length === 0 && !dirLeft
    summary.clean = clean
    // a node that had to be killed did not stop on SIGTERM: its stop hung, which is a bug
    summary.overdue = cluster.overdue
    if (cluster.overdue.length > 0 && failure === undefined) {
      failure = new Error(
        `${cluster.overdue.join(', ')} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM and had to be killed`,
      )
    }
    const text = clean
      ? `stopped ${n} nodes; no processes left, temp dir removed`
      : `cleanup incomplete: ${leftovers.length} processes alive (${leftovers.join(', ')})${dirLeft ? `, ${dir} still exists` : ''}`
    if (out.json)
      out.event('done', { ok: failure === undefined && clean, ...summary, error: failure?.message })
    else io.stdout.write(`[${cluster.elapsed().toFixed(1).padStart(5)}s] ${text}\n`)
    process.stdout.off('error', ignore)
    process.stderr.off('error', ignore)
  }
  if (failure !== undefined) throw new CliError(`demo failed: ${failure.message}`, { cause: failure })
}

/**
 * Waits until node1 knows every provider of {@link DEMO_SERVICE} (its `provider:added` events),
 * then asks it through its control socket, as `peer services` does, and narrates the answer.
 */
async function showProviders(
  cluster: Cluster,
  providers: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  const observer = cluster.nodes[0]!
  const ids = cluster.nodes.filter((x) => providers.includes(x.name)).map((x) => x.id)
  cluster.step(
    `${providers.join(', ')} provide the service "${DEMO_SERVICE}" (peer start --provide ${DEMO_SERVICE})`,
  )
  await until(
    () => ids.every((id) => observer.providers.get(DEMO_SERVICE)?.has(id) === true),
    30_000,
    `${observer.name} to know every provider of "${DEMO_SERVICE}"`,
    signal,
    cluster,
  )
  const snapshot = await readServices(cluster.controlPath(observer)!, { signal })
  const entry = snapshot.services.find((s) => s.service === DEMO_SERVICE)
  const list = (entry?.providers ?? []).map((p) => ({
    node: cluster.nodes.find((x) => x.id === p.id)?.name ?? shortId(p.id),
    id: p.id,
    addresses: p.addresses,
    connected: p.connected,
    rttMs: p.rttMs === undefined ? undefined : Math.round(p.rttMs * 100) / 100,
  }))
  cluster.step(
    `${observer.name} sees ${list.length} providers of "${DEMO_SERVICE}" (peer services): ${list
      .map(
        (p) =>
          `${p.node} ${p.addresses.join(',')} ${p.connected ? 'connected' : 'not connected'}${p.rttMs === undefined ? '' : ` ${p.rttMs} ms`}`,
      )
      .join('; ')}`,
    { service: DEMO_SERVICE, observer: observer.name, providers: list },
  )
}

function meanRtt(rtts: Array<number | undefined>): number | undefined {
  const known = rtts.filter((r): r is number => r !== undefined)
  return known.length === 0 ? undefined : round(known.reduce((a, b) => a + b, 0) / known.length)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function round(s: number): number {
  return Math.round(s * 100) / 100
}

async function until(
  check: () => boolean,
  timeoutMs: number,
  what: string,
  signal: AbortSignal,
  cluster: Cluster,
) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (signal.aborted) throw new Interrupted()
    const failed = cluster.nodes.find((x) => x.state === 'failed')
    if (failed !== undefined) {
      const why = cluster.stderrOf(failed).slice(-5).join('\n  ')
      throw new Error(`${failed.name} (${shortId(failed.id)}) exited unexpectedly${why ? `:\n  ${why}` : ''}`)
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    // an abort ends the wait: the check above throws
    await delay(100, signal).catch(() => {})
  }
}

async function sleepUntil(cluster: Cluster, t: number, signal: AbortSignal): Promise<void> {
  while (cluster.elapsed() < t) {
    if (signal.aborted) throw new Interrupted()
    // an abort ends the wait: the check above throws
    await delay(Math.min(200, (t - cluster.elapsed()) * 1000), signal).catch(() => {})
  }
  if (signal.aborted) throw new Interrupted()
}

/** The `demo` command for commander; `options.signal` stops it. */
export function demoCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('demo')
    .description('run a local cluster, show it live, crash a node and watch it rejoin')
    .option(
      '-n, --nodes <n>',
      `number of nodes (2-${MAX_DEMO_NODES}); above ${DEFAULT_DEMO_NODES}, some provide the service "${DEMO_SERVICE}"`,
      (v: string) => parseInteger(v, 2, MAX_DEMO_NODES),
      DEFAULT_DEMO_NODES,
    )
    .option('-d, --duration <seconds>', 'length of the scripted run', parseSeconds, 20)
    .option('--no-table', 'plain event lines even on a terminal')
    .option('--json', 'one JSON object per event line, and a final {"event":"done",...}')
    .addHelpText(
      'after',
      [
        '',
        'Each node is a separate `peer start` process on 127.0.0.1 with its own generated identity;',
        'all share one trust list and one static peer list in a temporary directory. After the',
        'cluster forms, the last node is killed with SIGKILL (its peers notice through the QUIC idle',
        'timeout), restarted with the same identity and port, and rejoins. Ctrl-C stops everything;',
        'no process or temporary file is left behind. With more than 5 nodes, every third node from',
        `node2 provides the named service "${DEMO_SERVICE}", and the demo shows its providers as node1 sees`,
        'them (what `peer services` prints).',
        '',
        'Examples:',
        '  peer demo',
        '  peer demo --nodes 3 --duration 15 --json',
        '  peer demo --nodes 12',
      ].join('\n'),
    )
    .action(async ({ duration, ...opts }: Omit<DemoOptions, 'durationMs' | 'signal'>) =>
      demo({ ...opts, durationMs: secondsFlag(duration), signal: options.signal }, io),
    )
}

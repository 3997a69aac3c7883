import { resolve } from 'node:path'
import { type AbortOptions, delay, shortId, throwIfAborted } from '@peer/discovery-core'
import { replaceControlChars } from '@peer/discovery-core/internal'
import Table from 'cli-table3'
import { Command } from 'commander'
import { NodeGoneError } from './control-client.js'
import { defaultControlPath } from './control-server.js'
import { parseMillis } from './flag-numbers.js'
import { resolveNodeConfig } from './node-config.js'
import { type CliIo, Output } from './output.js'
import { readStatus } from './serve-status.js'
import { shutdownSignal } from './shutdown.js'
import type { StatusPeer, StatusSnapshot } from './status-snapshot.js'

/**
 * Options of {@link status}. `signal` ends `watch` as Ctrl-C does (the command resolves); the
 * first read rejects with an `AbortError` when it aborts, and a signal already aborted at the call
 * rejects at once without connecting.
 */
export interface StatusOptions extends AbortOptions {
  /**
   * The control socket; default `control.sock` in the identity directory (from `--identity` /
   * `--config`).
   */
  control?: string | undefined
  /**
   * The node's identity directory (its control socket is `control.sock` in it). Default: the
   * configuration's `identity`, else `$PEER_HOME/identity`. Not used when `control` is given.
   */
  identity?: string | undefined
  /** The node's configuration file (finds its identity directory). Not used when `control` is given. */
  config?: string | undefined
  /** Refresh a live table every `intervalMs` until Ctrl-C or the node stops. */
  watch?: boolean | undefined
  /** Refresh interval of `--watch`, ms. Default 1000. */
  intervalMs?: number | undefined
  /**
   * Print the snapshot as one JSON object instead of text; with `watch`, one `status` event per
   * line, and a `closed` event when the node stops.
   */
  json?: boolean | undefined
}

/** Where `peer status` looks for the control socket. */
export async function controlPathOf(
  options: Pick<StatusOptions, 'control' | 'identity' | 'config' | 'signal'>,
  io: CliIo,
): Promise<string> {
  if (options.control !== undefined) return resolve(options.control)
  const config = await resolveNodeConfig({ config: options.config, identity: options.identity }, io, options)
  return defaultControlPath(config.identity)
}

/**
 * `peer status`: asks a running `peer start` (through its control socket) for its peers, their
 * addresses with sources, state, RTT, lanes, the node, registry and per-backend counters, and
 * prints them once, or with `--watch` as a live table until Ctrl-C or the node stops.
 */
export async function status(options: StatusOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  const out = new Output(io, options)
  const path = await controlPathOf(options, io)
  // a node that does not run is an error at first; with --watch, its going away later is not
  const first = await readStatus(path, { signal: options.signal })
  if (options.watch !== true) {
    out.result(first as unknown as Record<string, unknown>, renderStatus(first, { color: colorOf(io) }))
    return
  }
  await watch(path, first, options, out)
}

/**
 * Polls the node every interval, one short connection each time (so an interval longer than the
 * server's idle limit works too), until Ctrl-C or the node goes away.
 */
async function watch(
  path: string,
  first: StatusSnapshot,
  options: StatusOptions,
  out: Output,
): Promise<void> {
  const io = out.io
  const shutdown = shutdownSignal({ signal: options.signal })
  const live = !out.json && io.stdout.isTTY === true
  let draw: (((text: string) => void) & { done(): void }) | undefined
  if (live) {
    const { createLogUpdate } = await import('log-update')
    draw = createLogUpdate(io.stdout as NodeJS.WriteStream)
  }
  const intervalMs = options.intervalMs ?? 1000
  try {
    let next: StatusSnapshot | undefined = first
    while (!shutdown.signal.aborted) {
      let snapshot: StatusSnapshot
      try {
        snapshot = next ?? (await readStatus(path, { signal: shutdown.signal }))
        next = undefined
      } catch (error) {
        if (shutdown.signal.aborted) break
        if (error instanceof NodeGoneError) {
          draw?.done()
          out.event('closed', { control: path }, `the node stopped (${path} closed)`)
          return
        }
        throw error
      }
      if (out.json) out.event('status', snapshot as unknown as Record<string, unknown>)
      else {
        const text = `${renderStatus(snapshot, { color: colorOf(io) })}\n(refreshing every ${intervalMs} ms; Ctrl-C to stop)`
        if (draw !== undefined) draw(text)
        else io.stdout.write(`${text}\n\n`)
      }
      await delay(intervalMs, shutdown.signal).catch(() => {})
    }
  } finally {
    draw?.done()
    shutdown.dispose()
  }
}

/** Colours only on a terminal, and never with NO_COLOR. */
function colorOf(io: CliIo): boolean {
  return io.stdout.isTTY === true && io.env.NO_COLOR === undefined
}

function ms(value: number | undefined): string {
  if (value === undefined) return '-'
  return value < 10 ? value.toFixed(2) : value.toFixed(1)
}

function duration(msValue: number): string {
  const s = Math.floor(msValue / 1000)
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.floor(s / 60)}m${s % 60}s`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}

/** The state cell: `up`, or the registry state and when its next dial is due (`backoff, dial in 850ms`). */
function stateCell(peer: StatusPeer): string {
  if (peer.up) return 'up'
  if (peer.nextDialAt === undefined) return peer.state
  const inMs = Math.max(0, peer.nextDialAt - Date.now())
  return `${peer.state}, dial in ${inMs < 1000 ? `${Math.round(inMs)}ms` : duration(inMs)}`
}

/**
 * Lanes open as `0 1 5` (a lane open one way only is marked `>` out or `<` in), with queued/unacked
 * counts.
 */
function lanes(peer: StatusPeer): string {
  if (peer.lanes.length === 0) return '-'
  return peer.lanes
    .map((l) => {
      const mark = l.out && l.in ? '' : l.out ? '>' : '<'
      const load = l.queued + l.unacked > 0 ? `(${l.queued}q/${l.unacked}u)` : ''
      return `${l.lane}${mark}${load}`
    })
    .join(' ')
}

/** An error's text as one line: it may carry a server's or a peer's words, so no control characters. */
function errorLine(text: string): string {
  return replaceControlChars(text, ' ').slice(0, 300)
}

function counters(values: Record<string, number>): string {
  const entries = Object.entries(values)
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k} ${v}`).join(', ')
}

/** Renders a status snapshot as text: the node, a table of peers, the counters. */
export function renderStatus(s: StatusSnapshot, options: { color?: boolean } = {}): string {
  const color = options.color === true
  const lines: string[] = []
  const n = s.node
  lines.push(`node      ${n.name} ${n.id}`)
  lines.push(
    `          listening on ${n.address}, announcing ${n.addresses.join(', ') || '-'}; ${n.state}, up ${duration(n.uptimeMs)}, pid ${n.pid}, peer ${n.version}`,
  )
  const st = s.stats
  lines.push(
    `messages  ${st.messagesSent} sent, ${st.messagesReceived} received, ${st.messagesDropped} dropped; ` +
      `${st.malformed} malformed, ${st.unhandled} unhandled, ${st.protocolErrors} protocol errors, ${st.rejected} rejected`,
  )
  lines.push(`registry  ${counters(s.registry)}`)
  const up = s.peers.filter((p) => p.up).length
  lines.push(`peers     ${up} up of ${s.peers.length} known`)
  if (s.peers.length > 0) {
    const table = new Table({
      head: [
        'peer',
        'id',
        'state',
        'dir',
        'addresses (sources)',
        'rtt ms',
        'lanes',
        'sent',
        'recv',
        'dropped',
      ],
      colAligns: ['left', 'left', 'left', 'left', 'left', 'right', 'left', 'right', 'right', 'right'],
      style: color ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    })
    for (const p of s.peers) {
      const addresses = p.addresses.map((a) => `${a.address} (${a.sources.join(', ') || '-'})`)
      if (p.remoteAddress !== undefined && !p.addresses.some((a) => a.address === p.remoteAddress)) {
        addresses.push(`${p.remoteAddress} (connection)`)
      }
      table.push([
        p.name ?? '-',
        shortId(p.id),
        stateCell(p),
        p.direction === undefined ? '-' : p.direction === 'inbound' ? 'in' : 'out',
        addresses.join('\n') || '-',
        ms(p.rttMs),
        lanes(p),
        p.stats?.messagesSent ?? '-',
        p.stats?.messagesReceived ?? '-',
        p.stats?.messagesDropped ?? '-',
      ])
    }
    lines.push(table.toString())
    for (const p of s.peers) {
      if (!p.up && p.lastError !== undefined)
        lines.push(`  ${p.name ?? shortId(p.id)}: ${errorLine(p.lastError)}`)
    }
  }
  // discovered but never dialed: the answer to "why is it not in the table?"
  const strangers = s.untrusted
  if (strangers !== undefined && strangers.count > 0) {
    lines.push(`untrusted ${strangers.count} discovered peer(s) not in the trust list, so not dialed:`)
    for (const p of strangers.peers) {
      lines.push(`  ${p.name ?? '-'} ${p.id} at ${p.addresses.join(', ') || '-'} [${p.sources.join(', ')}]`)
    }
    if (strangers.count > strangers.peers.length)
      lines.push(`  ... and ${strangers.count - strangers.peers.length} more`)
  }
  if (s.discovery === undefined) lines.push('discovery none')
  else {
    for (const b of s.discovery.backends) {
      lines.push(`discovery [${b.source}] ${counters(b.stats)}`)
      const last = b.lastError
      if (last !== undefined) {
        const ago = (at: number) => Math.max(0, Math.round((Date.now() - at) / 1000))
        const since =
          last.recoveredAt === undefined ? '' : ` (working again since ${ago(last.recoveredAt)} s ago)`
        lines.push(`  last error ${ago(last.at)} s ago${since}: ${errorLine(last.message)}`)
      }
    }
    lines.push(`discovery (all) ${counters(s.discovery.stats)}`)
  }
  return lines.join('\n')
}

/** The `status` command for commander; `options.signal` ends `--watch`. */
export function statusCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('status')
    .description('show a running node (peer start): peers, addresses, RTT, lanes, counters')
    .option('--control <path>', "the node's control socket (default: control.sock in the identity directory)")
    .option('-i, --identity <dir>', "the node's identity directory (finds its control socket)")
    .option('-c, --config <file>', "the node's configuration file (finds its identity directory)")
    .option('-w, --watch', 'refresh a live table until Ctrl-C or the node stops')
    .option('--interval <ms>', 'refresh interval of --watch in ms (default 1000)', parseMillis)
    .option('--json', 'the status as one JSON object (with --watch: one per line)')
    .addHelpText(
      'after',
      [
        '',
        'Talks to `peer start` over its control socket: a Unix socket with mode 0600, so only the',
        'user running the node can read its status. `peer start --no-control` opens none.',
        '',
        'Examples:',
        '  peer status --identity ./n1',
        '  peer status --config peer.json --watch',
        '  peer status --control /run/peer/n1.sock --json',
      ].join('\n'),
    )
    .action(async ({ interval, ...opts }: Omit<StatusOptions, 'signal'> & { interval?: number }) =>
      status({ ...opts, intervalMs: interval, signal: options.signal }, io),
    )
}

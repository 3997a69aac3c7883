import {
  type AbortOptions,
  assertServiceName,
  formatHostPort,
  isNodeId,
  type PeerAddress,
  shortId,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage, quote } from '@peer/discovery-core/internal'
import { TrustList } from '@peer/identity'
import type { PeerNode, PeerUnavailableError } from '@peer/node'
import { Command } from 'commander'
import { BrowseOnlyBackend } from './browse-only.js'
import { parseAddress } from './config.js'
import { refusedUs, watchDecisiveDials } from './dial-verdict.js'
import { durationMs } from './durations.js'
import { CliError, UsageError } from './errors.js'
import { parseInteger, parseMillis } from './flag-numbers.js'
import { watchName } from './name-watch.js'
import { resolveNodeConfig } from './node-config.js'
import { configuredLogger, startConfiguredNode } from './node-setup.js'
import { type CliIo, Output } from './output.js'
import { pingService } from './ping-service.js'
import { pause, roundMs, rttSummary } from './ping-timing.js'
import { pingTrusted } from './ping-trusted.js'
import { shutdownSignal } from './shutdown.js'
import type { NodeFlags } from './start-options.js'
import { addNodeFlags } from './start-options.js'

/**
 * Options of {@link ping}. `signal` stops it as Ctrl-C does: while connecting it rejects with a
 * `CliError` ("interrupted"); while pinging it stops, prints the summary of the pings so far and
 * resolves (rejects when none was answered). A signal already aborted at the call rejects with an
 * `AbortError`, and no node starts.
 */
export interface PingOptions extends NodeFlags, AbortOptions {
  /** Pings to send. Default 3. */
  count?: number | undefined
  /** Pause between pings, ms. Default 1000. */
  intervalMs?: number | undefined
  /**
   * Same as `intervalMs` (ms).
   *
   * @deprecated Use `intervalMs` (same unit, ms); accepted until the next minor version.
   */
  interval?: number | undefined
  /** Time limit of one ping, ms. Default 5000. */
  timeoutMs?: number | undefined
  /**
   * Same as `timeoutMs` (ms).
   *
   * @deprecated Use `timeoutMs` (same unit, ms); accepted until the next minor version.
   */
  timeout?: number | undefined
  /** Time limit to find and connect to the target, ms. Default 10,000. */
  connectTimeoutMs?: number | undefined
  /**
   * Same as `connectTimeoutMs` (ms).
   *
   * @deprecated Use `connectTimeoutMs` (same unit, ms); accepted until the next minor version.
   */
  connectTimeout?: number | undefined
  /** The node id expected at a `host:port` target (pinned in the handshake). */
  id?: string | undefined
  /**
   * Ping every peer of the trust list once instead of one target (give no target): which are
   * reachable, and where each other one stands. Rejects when any is not reachable.
   */
  trusted?: boolean | undefined
  /**
   * With `trusted`: print only the peers out of reach and the summary (`-q`, `--quiet`), for trust
   * lists too long to read line by line.
   */
  quiet?: boolean | undefined
  /**
   * Print one JSON object per line instead of text: `connected` (`providers` for a service),
   * `reply`, `timeout`, `failover`, `unavailable` and `summary`.
   */
  json?: boolean | undefined
}

/** The ping node's registry settings for `--trusted`. */
const TRUSTED_PING_REGISTRY = { maxConcurrentDials: 64, maxPeers: 100_000 } as const

/** What `peer ping` was asked to reach. */
export type PingTarget =
  | { kind: 'id'; id: string }
  | { kind: 'address'; address: PeerAddress; id?: string | undefined }
  | { kind: 'name'; name: string }
  | { kind: 'service'; service: string }

/** Prefix of a ping target that names a service: `service:kv`. */
export const SERVICE_TARGET_PREFIX = 'service:'

/**
 * Classifies a ping target: `service:<name>`, a node id, `host:port` (`[v6]:port`), or a node
 * name.
 */
export function parsePingTarget(target: string, id?: string): PingTarget {
  if (target.startsWith(SERVICE_TARGET_PREFIX)) {
    const service = target.slice(SERVICE_TARGET_PREFIX.length)
    try {
      assertServiceName(service)
    } catch (error) {
      throw new UsageError(`target ${quote(target)}: ${errorMessage(error)}`, { cause: error })
    }
    return { kind: 'service', service }
  }
  const looksLikeId: boolean = isNodeId(target)
  if (looksLikeId) return { kind: 'id', id: target }
  if (target.includes(':') && !target.includes('@')) {
    const parsed = parseAddress(target)
    if (!parsed.ok) throw new UsageError(`target ${quote(target)}: ${parsed.message}`)
    return { kind: 'address', address: parsed.address, id }
  }
  if (target === '') throw new UsageError('give a node name, node id or host:port to ping (or --trusted)')
  return { kind: 'name', name: target }
}

/**
 * `peer ping <name | id | host:port>`: starts a short-lived node with the configured identity,
 * trust and discovery (never announcing itself), connects to the target over QUIC with mutual TLS
 * and pinned ids, and measures application round trips.
 *
 * - an id is trusted for this run and found through discovery;
 * - `host:port` is matched against what discovery reports, or dialed directly with `--id <id>`
 *   (an address alone cannot be authenticated: the id is what is pinned);
 * - a name (`app@host` or `app`) must belong to a trusted, discovered peer;
 * - `service:<name>` pings a provider of the named service, chosen like `request({ service })`
 *   (a connected one, by how fast it answers and its load, then random), failing over to the next one
 *   when a provider is unavailable, and prints which provider answered.
 */
export async function ping(target: string | undefined, options: PingOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  const ms = (current: string, deprecated: string, fallback: number) =>
    durationMs(options, { current, deprecated, owner: '@peer/cli ping' }, fallback)
  const interval = ms('intervalMs', 'interval', 1000)
  const timeout = ms('timeoutMs', 'timeout', 5000)
  const connectTimeout = ms('connectTimeoutMs', 'connectTimeout', 10_000)
  const out = new Output(io, options)
  if (options.id !== undefined && !isNodeId(options.id))
    throw new UsageError(`--id ${quote(options.id)} is not a node id`)
  if (options.quiet === true && options.trusted !== true)
    throw new UsageError('--quiet applies to --trusted only (it leaves out the peers in reach)')
  if (options.trusted === true && target !== undefined)
    throw new UsageError(`--trusted pings every trusted peer: give no target (got ${quote(target)})`)
  const what = options.trusted === true ? undefined : parsePingTarget(target ?? '', options.id)
  if (options.id !== undefined && what?.kind !== 'address')
    throw new UsageError('--id applies to a host:port target only')
  const config = await resolveNodeConfig(options, io, options)
  if (options.listen === undefined) config.listen = { host: config.listen.host, port: 0 }
  const count = options.count ?? 3
  // an explicit id + address is a static peer of this run
  if (what?.kind === 'address' && what.id !== undefined) {
    const peer = { id: what.id, addresses: [what.address] }
    const existing = config.discovery.find((b) => b.backend === 'static')
    if (existing !== undefined && existing.backend === 'static')
      existing.peers = [...(existing.peers ?? []), peer]
    else config.discovery = [{ backend: 'static', peers: [peer] }, ...config.discovery]
  }
  const logger = configuredLogger(config, (line) => void io.stderr.write(`${line}\n`), io.env)
  const shutdown = shutdownSignal({ signal: options.signal })
  // the node starts trusting nobody, so that no dial to a trusted peer fails before its failures
  // are listened to; the configured ids are added to this list then (changes apply live)
  const live = new TrustList()
  let node: PeerNode | undefined
  try {
    const started = await startConfiguredNode(config, {
      logger,
      wrapBackend: (b) => new BrowseOnlyBackend(b),
      overrides: {
        name: `ping-${process.pid}@localhost`,
        trust: live,
        // --trusted waits for every peer at once: more dials in flight, so peers that are down
        // (each holding a dial until its time limit) keep fewer others waiting; the peer map only
        // holds trusted ids, so it is bounded by the trust list
        ...(what === undefined ? { registry: TRUSTED_PING_REGISTRY } : {}),
      },
      signal: shutdown.signal,
      env: io.env,
    }).catch((error: unknown) => {
      if (shutdown.signal.aborted) throw new CliError('interrupted')
      throw error
    })
    node = started.node
    if (what === undefined) {
      const limits = {
        connectTimeoutMs: connectTimeout,
        timeoutMs: timeout,
        quiet: options.quiet === true,
        signal: shutdown.signal,
      }
      await pingTrusted(node, { configured: started.trust, live }, limits, out)
      return
    }
    const trustConfigured = () => live.replace(started.trust.list())
    if (what.kind === 'service') {
      trustConfigured()
      await pingService(
        node,
        what.service,
        {
          count,
          intervalMs: interval,
          timeoutMs: timeout,
          connectTimeoutMs: connectTimeout,
          signal: shutdown.signal,
        },
        out,
      )
      return
    }
    const explicitId = what.kind === 'id' ? what.id : what.kind === 'address' ? what.id : undefined
    const deadline = Date.now() + connectTimeout
    // a dial that can only fail again ends the wait at once, with its reason: another node answers
    // at the address (PinningError), or the target does not trust this identity
    const decisive = new AbortController()
    let decisiveError: Error | undefined
    let targetId = explicitId
    const unwatchDials = watchDecisiveDials(node, (id, error) => {
      if (id !== targetId) return
      decisiveError = error
      decisive.abort()
    })
    // a name: its member's id once discovery reports it (its dial failures are then decisive too),
    // or, when only an untrusted peer has the name for a grace period, the answer at once
    let unwatchNames = () => {}
    if (what.kind === 'name' && node.discovery !== undefined) {
      unwatchNames = watchName(node.discovery, what.name, (id) => started.trust.has(id), {
        onTarget: (id) => {
          targetId = id
        },
        onStranger: (stranger) => {
          if (decisive.signal.aborted) return
          decisiveError = new Error(
            `${stranger.name} is discovered (${stranger.sources.join(', ')}) with id ${stranger.id}, which is not in the trust list: add it (--trust ${stranger.id}, or the trust file)`,
          )
          decisive.abort()
        },
      })
    }
    const unwatch = () => {
      unwatchDials()
      unwatchNames()
    }
    trustConfigured()
    if (explicitId !== undefined) live.add(explicitId, { label: 'peer ping target' })
    const ref =
      what.kind === 'name'
        ? what.name
        : what.kind === 'id'
          ? what.id
          : (what.id ?? (await idAtAddress(node, what, deadline, shutdown.signal)))
    if (what.kind === 'address') targetId = ref
    const info = await node
      .waitForPeer(ref, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal: AbortSignal.any([shutdown.signal, decisive.signal]),
      })
      .catch((error: unknown) => {
        if (shutdown.signal.aborted) throw new CliError('interrupted')
        if (decisiveError !== undefined) {
          const fix = refusedUs(decisiveError)
            ? ` (this identity is ${started.node.id}: add it to the target's trust list)`
            : ''
          throw new CliError(`cannot reach ${target}: ${decisiveError.message}${fix}`, {
            cause: decisiveError,
          })
        }
        // the node's error says where the peer stands (not trusted, not discovered, the last dial's
        // error); the hint is for a discovered peer whose dials gave no error yet (by name and
        // shape: a value import of @peer/node would load it for every `peer --help`)
        const unavailable =
          error instanceof Error && error.name === 'PeerUnavailableError'
            ? (error as PeerUnavailableError)
            : undefined
        const dialing = unavailable?.standing === 'discovered' && unavailable.lastDialError === undefined
        const noBackend =
          unavailable?.standing === 'undiscovered' && started.node.discovery === undefined
            ? ' (give --peer, --peers-file or a config file with `discovery`)'
            : ''
        const why = dialing ? hint(what, live.has.bind(live)) : noBackend
        throw new CliError(`cannot reach ${target}: ${errorMessage(error)}${why}`, { cause: error })
      })
      .finally(unwatch)
    const label = info.name ?? shortId(info.id)
    const address = formatHostPort(info.address.host, info.address.port)
    out.event(
      'connected',
      { id: info.id, name: info.name, address },
      `PING ${label} ${info.id} at ${address} (QUIC, pinned)`,
    )
    const rtts: number[] = []
    let sent = 0
    for (let seq = 1; seq <= count && !shutdown.signal.aborted; seq++) {
      sent += 1
      try {
        const rtt = await node.ping(info.id, { timeoutMs: timeout, signal: shutdown.signal })
        rtts.push(rtt)
        out.event(
          'reply',
          { seq, id: info.id, rtt: roundMs(rtt) },
          `reply from ${label}: seq=${seq} rtt=${roundMs(rtt)} ms`,
        )
      } catch (error) {
        if (shutdown.signal.aborted) break
        out.event(
          'timeout',
          { seq, id: info.id, error: errorMessage(error) },
          `no reply from ${label}: seq=${seq} (${errorMessage(error)})`,
        )
      }
      if (seq < count) await pause(interval, shutdown.signal)
    }
    const summary = {
      id: info.id,
      name: info.name,
      sent,
      received: rtts.length,
      ...rttSummary(rtts),
    }
    out.event(
      'summary',
      summary,
      `${sent} sent, ${rtts.length} received${rtts.length ? `, rtt min/avg/max = ${summary.min}/${summary.avg}/${summary.max} ms` : ''}`,
    )
    if (rtts.length === 0) throw new CliError(`no reply from ${target}`)
  } finally {
    shutdown.dispose()
    await node?.stop({ timeoutMs: 1000 }).catch(() => {})
  }
}

async function idAtAddress(
  node: PeerNode,
  what: Extract<PingTarget, { kind: 'address' }>,
  deadline: number,
  signal: AbortSignal,
): Promise<string> {
  const want = what.address
  while (!signal.aborted) {
    const records = (await node.discovery?.list().catch(() => [])) ?? []
    const match = records.find((r) =>
      r.addresses.some((a) => a.port === want.port && sameHost(a.host, want.host)),
    )
    if (match !== undefined) return match.id
    if (Date.now() >= deadline) break
    await pause(200, signal)
  }
  throw new CliError(
    `no discovered peer is at ${formatHostPort(want.host, want.port)}; give its node id with --id <id> ` +
      '(an address alone cannot be authenticated: the id is pinned in the handshake)',
  )
}

function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => (h === 'localhost' ? '127.0.0.1' : h.toLowerCase())
  return norm(a) === norm(b)
}

function hint(what: PingTarget, trusted: (id: string) => boolean): string {
  if (what.kind === 'service') return ''
  if (what.kind === 'name') return ' (does it run, is it reachable, and does it trust this identity?)'
  const id = what.id
  if (id !== undefined && trusted(id)) {
    return ' (does it run, is it reachable, and does it trust this identity? A node already running with this identity makes the target refuse a second connection.)'
  }
  return ''
}

/** The `ping` command for commander; `options.signal` stops it. */
export function pingCommand(io: CliIo, options: AbortOptions = {}): Command {
  return addNodeFlags(
    new Command('ping')
      .description('connect to a node (QUIC, mutual TLS, pinned id) and measure round trips')
      .argument('[target]', 'node name (app@host or app), node id, host:port, or service:<name>'),
  )
    .option('-n, --count <n>', 'pings to send', (v) => parseInteger(v, 1, 1_000_000), 3)
    .option('--interval <ms>', 'pause between pings', parseMillis, 1000)
    .option('--timeout <ms>', 'time limit of one ping', parseMillis, 5000)
    .option('--connect-timeout <ms>', 'time limit to find and connect to the target', parseMillis, 10_000)
    .option('--id <id>', 'the node id expected at a host:port target')
    .option(
      '--trusted',
      'ping every peer of the trust list once (no target): which are reachable, and why not',
    )
    .option('-q, --quiet', 'with --trusted: print only the peers out of reach, and the summary')
    .option(
      '--json',
      'one JSON object per line: connected (providers for a service), reply, timeout, failover, summary',
    )
    .addHelpText(
      'after',
      [
        '',
        'ping connects as the configured identity, which the target must trust. It never announces',
        'itself. Use an identity of its own (--identity) when a node with the same identity is running.',
        'service:<name> pings a provider of a named service (`peer start --provide <name>`), chosen like',
        'request({ service }): a connected one, by speed and load; an unavailable one fails over to the next.',
        '',
        'Examples:',
        '  peer ping n2@localhost --config admin.json',
        '  peer ping 127.0.0.1:4002 --id <node id> --identity ./admin --trust-file trust.json',
        '  peer ping service:kv --config admin.json',
        '  peer ping --trusted --config admin.json',
      ].join('\n'),
    )
    .action(
      async (
        target: string | undefined,
        { interval, timeout, connectTimeout, ...opts }: Omit<PingOptions, `${string}Ms` | 'signal'>,
      ) =>
        ping(
          target,
          {
            ...opts,
            intervalMs: interval,
            timeoutMs: timeout,
            connectTimeoutMs: connectTimeout,
            signal: options.signal,
          },
          io,
        ),
    )
}

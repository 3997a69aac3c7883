import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import {
  type AbortOptions,
  encodeServiceList,
  formatHostPort,
  type PeerAddress,
  type PeerRecord,
  shortId,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import type { PeerNode, ProviderDetail } from '@peer/node'
import { Command, Option } from 'commander'
import { configWarnings, staticListedIds } from './config-warnings.js'
import { type ControlServer, clearControlPath, defaultControlPath } from './control-server.js'
import { durationMs, secondsFlag } from './durations.js'
import { UsageError } from './errors.js'
import { parseMillis, parseSeconds } from './flag-numbers.js'
import { type MetricsServer, parseMetricsAddress, startMetricsServer } from './metrics-server.js'
import { resolveNodeConfig } from './node-config.js'
import { configuredLogger, reloadConfiguredTrust, startConfiguredNode } from './node-setup.js'
import { type CliIo, formatAddresses, Output, recordFields } from './output.js'
import { serveStatus } from './serve-status.js'
import { servicesSnapshot } from './services-snapshot.js'
import { shutdownSignal, untilAborted } from './shutdown.js'
import { check } from './start-check.js'
import { addNodeFlags, collect, type StartOptions } from './start-options.js'

/** The topic of the demo traffic (`--chatter`); every `peer start` node accepts it. */
export const CHATTER_TOPIC = 'peer.chatter'

/**
 * `peer start`: runs a node until Ctrl-C (or SIGTERM, `--duration`, `options.signal`, or stdin
 * closing with `--exit-with-stdin`), printing `started`, `peer:up`, `peer:down`, `peer:rejected`,
 * discovery `discovered` / `lost` events and, with `--stats`, periodic `stats` events.
 */
export async function start(options: StartOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  const stopAfterMs = durationMs(options, {
    current: 'durationMs',
    deprecated: 'duration',
    seconds: true,
    owner: '@peer/cli start',
  })
  const statsMs = durationMs(options, {
    current: 'statsIntervalMs',
    deprecated: 'stats',
    seconds: true,
    owner: '@peer/cli start',
  })
  const chatterMs = durationMs(options, {
    current: 'chatterMs',
    deprecated: 'chatter',
    owner: '@peer/cli start',
  })
  const out = new Output(io, options)
  const metricsAddress =
    options.metrics === undefined
      ? undefined
      : parseMetricsAddress(options.metrics, options.metricsAllowRemote)
  const provide = checkServices(options.provide)
  if (options.reach === true && options.check !== true)
    throw new UsageError('--reach is a part of --check: give both (peer start --check --reach)')
  if (options.connectTimeoutMs !== undefined && options.reach !== true)
    throw new UsageError('--connect-timeout applies to --check --reach only')
  if (options.quiet === true && options.reach !== true)
    throw new UsageError('--quiet applies to --check --reach only (it leaves out the peers in reach)')
  const config = await resolveNodeConfig(options, io, options)
  if (options.check === true) return check(config, options, out, io)
  const logger = configuredLogger(config, (line) => void io.stderr.write(`${line}\n`), io.env)
  const shutdown = shutdownSignal({ signal: options.signal })
  const onStdinEnd = () => shutdown.abort('stdin closed')
  if (options.exitWithStdin === true) {
    // a stdin that fails (a reset socket, a vanished terminal) is closed too, not an uncaught error
    process.stdin.on('end', onStdinEnd).on('close', onStdinEnd).on('error', onStdinEnd).resume()
  }
  let node: PeerNode | undefined
  const timers: NodeJS.Timeout[] = []
  let watcher: FSWatcher | undefined
  let onHangup: (() => void) | undefined
  let debounce: NodeJS.Timeout | undefined
  let metrics: MetricsServer | undefined
  let control: ControlServer | undefined
  const controlPath =
    options.control === false ? undefined : resolve(options.control ?? defaultControlPath(config.identity))
  try {
    // a node already running with this control socket (most likely the same identity directory):
    // refuse before this one announces itself or dials (its connections would replace the other's)
    if (controlPath !== undefined) {
      await clearControlPath(controlPath, { signal: shutdown.signal }).catch((error: unknown) => {
        if (!shutdown.signal.aborted) throw error // Ctrl-C meanwhile: just stop
      })
      if (shutdown.signal.aborted) return
    }
    if (metricsAddress !== undefined) metrics = await startMetricsServer(metricsAddress)
    const started = await startConfiguredNode(config, {
      logger,
      signal: shutdown.signal,
      env: io.env,
      ...(metrics === undefined ? {} : { overrides: { metrics: { meterProvider: metrics.meterProvider } } }),
    })
    node = started.node
    if (shutdown.signal.aborted) return
    const cliLog = logger('peer:cli')
    const listed = await staticListedIds(config, started.backends, { signal: shutdown.signal })
    const facts = { listed, keyType: started.identity.keyType, self: started.identity.id }
    for (const warning of configWarnings(config, started.trust, facts)) cliLog.warn(warning)
    const self = node
    if (controlPath !== undefined) {
      control = await serveStatus(self, controlPath, { signal: shutdown.signal }).catch((error: unknown) => {
        if (shutdown.signal.aborted) return undefined // Ctrl-C while opening it: just stop
        throw error
      })
      if (shutdown.signal.aborted) return
    }
    self.handle(CHATTER_TOPIC, () => undefined)
    for (const service of provide) await self.provide(service, { signal: shutdown.signal })
    const printProvider = (kind: 'provider:added' | 'provider:removed', detail: ProviderDetail) => {
      const { service, id, name, reason } = detail
      out.event(
        kind,
        { service, id, name, reason },
        `service    ${service}: ${kind === 'provider:added' ? '+' : '-'} ${name ?? shortId(id)} ${id} (${reason})`,
      )
    }
    self.addEventListener('provider:added', (e) => printProvider('provider:added', e.detail))
    self.addEventListener('provider:removed', (e) => printProvider('provider:removed', e.detail))
    const printUp = (peer: {
      id: string
      name?: string | undefined
      direction: string
      address: PeerAddress
    }) => {
      const { id, name, direction, address } = peer
      out.event(
        'peer:up',
        { id, name, direction, address: formatHostPort(address.host, address.port) },
        `peer:up    ${name ?? shortId(id)} ${id} ${direction} ${formatHostPort(address.host, address.port)}`,
      )
    }
    self.addEventListener('peer:up', (e) => printUp(e.detail))
    // why a member does not come up (a wrong id at its address, it does not trust us, no answer):
    // each distinct error of a peer once (at most 8) until the peer comes up, not every redial
    const dialErrors = new Map<string, Set<string>>()
    self.addEventListener('peer:dial-failed', (e) => {
      const { id, attempt, error, retryIn } = e.detail
      const shown = dialErrors.get(id) ?? new Set<string>()
      dialErrors.set(id, shown)
      if (shown.has(error.message) || shown.size >= 8) return
      shown.add(error.message)
      const name = self.members().find((m) => m.id === id)?.name
      out.event(
        'peer:dial-failed',
        { id, name, attempt, error: error.message, retryIn },
        `dial-fail  ${name ?? shortId(id)} ${id}: ${error.message}${retryIn === undefined ? '' : ' (retrying)'}`,
      )
    })
    self.addEventListener('member:left', (e) => dialErrors.delete(e.detail.id))
    self.addEventListener('peer:up', (e) => dialErrors.delete(e.detail.id))
    self.addEventListener('peer:down', (e) => {
      const { id, name, reason } = e.detail
      out.event('peer:down', { id, name, reason }, `peer:down  ${name ?? shortId(id)} ${id} (${reason})`)
    })
    self.addEventListener('peer:rejected', (e) => {
      const { id, source, reason } = e.detail
      out.event(
        'peer:rejected',
        { id, source, reason },
        `rejected   ${id ?? 'unknown id'} (${reason}, via ${source})`,
      )
    })
    const discovery = self.discovery
    const show = (kind: string, record: PeerRecord, extra: Record<string, unknown> = {}, note?: string) =>
      out.event(
        kind,
        { ...recordFields(record), ...extra },
        `${kind.padEnd(10)} ${record.name ?? shortId(record.id)} ${record.id} at ${formatAddresses(record.addresses).join(', ')}${
          note === undefined ? '' : ` (${note})`
        } [${record.source}]`,
      )
    // a peer found but not in the trust list is never dialed: say so where it shows up (a listed
    // peer that never connects is the usual first-run surprise); a trust reload dials it then
    const showFound = (kind: string, record: PeerRecord) => {
      const trusted = started.trust.has(record.id)
      show(kind, record, { trusted }, trusted ? undefined : 'not trusted: not dialed')
    }
    if (discovery !== undefined) {
      discovery.addEventListener('peer:discovered', (e) => showFound('discovered', e.detail.record))
      // a known peer's record changed (addresses, name, meta): at --log-level info and debug
      if (config.log.level === 'info' || config.log.level === 'debug') {
        discovery.addEventListener('peer:updated', (e) => showFound('updated', e.detail.record))
      }
      discovery.addEventListener('peer:lost', (e) =>
        show('lost', e.detail.record, { reason: e.detail.reason }, e.detail.reason),
      )
      discovery.addEventListener('discovery:error', (e) =>
        out.event(
          'error',
          { source: e.detail.source, name: e.detail.error.name, message: e.detail.error.message },
          `error      [${e.detail.source}] ${e.detail.error.message}`,
        ),
      )
    }
    out.event(
      'started',
      {
        id: self.id,
        name: self.name,
        address: formatHostPort(self.address.host, self.address.port),
        port: self.address.port,
        addresses: formatAddresses(self.addresses),
        backends: config.discovery.map((b) => b.backend),
        trusted: started.trust.size,
        identityCreated: started.created,
        pid: process.pid,
        control: control?.path,
        provides: [...self.provided],
      },
      `started    ${self.name} ${self.id} listening on ${formatHostPort(self.address.host, self.address.port)} ` +
        `(discovery: ${config.discovery.map((b) => b.backend).join(', ') || 'none'}, ${started.trust.size} trusted` +
        `${self.provided.length > 0 ? `; provides ${self.provided.join(', ')}` : ''})`,
    )
    // --duration counts from here: the time the node ran, not its start-up
    shutdown.runFor(stopAfterMs)
    if (metrics !== undefined)
      out.event('metrics', { url: metrics.url }, `metrics    Prometheus text at ${metrics.url}`)
    // peers that came up while the node was starting, before the listener above existed
    for (const peer of self.peers()) printUp(peer)
    // providers learnt from the records discovery reported while the node was starting
    for (const entry of servicesSnapshot(self).services) {
      for (const p of entry.providers) {
        printProvider('provider:added', {
          service: entry.service,
          id: p.id,
          name: p.name,
          reason: 'announced',
        })
      }
    }
    if (discovery !== undefined) {
      // what discovery found while the node was starting
      for (const record of await discovery.list().catch(() => [])) showFound('discovered', record)
    }
    const trustFile = config.trust.file
    if (trustFile !== undefined) {
      // edits of the trust list file (or SIGHUP) apply live; a bad edit keeps the last good list
      let reloading = Promise.resolve()
      const reload = (why: string) => {
        reloading = reloading.then(async () => {
          try {
            const { added, removed } = await reloadConfiguredTrust(config, started.trust)
            if (added + removed > 0 || why === 'SIGHUP') {
              out.event(
                'trust:reloaded',
                { file: trustFile, size: started.trust.size, added, removed, why },
                `trust      reloaded ${trustFile}: ${started.trust.size} trusted (+${added} -${removed})`,
              )
            }
          } catch (error) {
            out.event(
              'error',
              { source: 'trust', name: (error as Error).name, message: errorMessage(error) },
              `error      [trust] ${errorMessage(error)} (keeping the last good list)`,
            )
          }
        })
      }
      const name = basename(trustFile)
      try {
        watcher = watch(dirname(trustFile), (_event, changed) => {
          if (changed !== null && changed !== name) return
          clearTimeout(debounce)
          debounce = setTimeout(() => reload('file changed'), 100)
        })
        // the watch ends (e.g. the directory went away); SIGHUP still reloads
        watcher.on('error', (error) =>
          out.event(
            'error',
            { source: 'trust', name: error.name, message: errorMessage(error) },
            `error      [trust] cannot watch ${trustFile} any more: ${errorMessage(error)} (SIGHUP reloads)`,
          ),
        )
      } catch {}
      onHangup = () => reload('SIGHUP')
      process.on('SIGHUP', onHangup)
    }
    if (statsMs !== undefined) {
      timers.push(setInterval(() => printStats(out, self), statsMs).unref())
    }
    if (chatterMs !== undefined) {
      let n = 0
      timers.push(
        setInterval(() => {
          for (const peer of self.peers()) self.send(peer.id, CHATTER_TOPIC, { n: n++ }).catch(() => {})
        }, chatterMs).unref(),
      )
      timers.push(
        setInterval(() => {
          for (const peer of self.peers()) self.ping(peer.id, { timeoutMs: 2000 }).catch(() => {})
        }, 1000).unref(),
      )
    }
    await untilAborted(shutdown.signal)
  } catch (error) {
    // stopped while starting (Ctrl-C, --duration, the caller's signal): a clean stop, not a failure
    if (!shutdown.signal.aborted) throw error
  } finally {
    for (const t of timers) clearInterval(t)
    await control?.close()
    watcher?.close()
    clearTimeout(debounce)
    if (onHangup !== undefined) process.off('SIGHUP', onHangup)
    shutdown.dispose()
    process.stdin.off('end', onStdinEnd).off('close', onStdinEnd).off('error', onStdinEnd)
    if (options.exitWithStdin === true) process.stdin.pause()
    if (node !== undefined) {
      await node
        .stop()
        .catch((error: unknown) => out.note(`stop failed: ${errorMessage(error)}`, { always: true }))
      out.event('stopped', { id: node.id, reason: reasonOf(shutdown.signal) }, `stopped    ${node.name}`)
    }
    await metrics?.close()
  }
}

function reasonOf(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'stopped')
}

function printStats(out: Output, node: PeerNode): void {
  const peers = node.peers().map((p) => ({
    id: p.id,
    name: p.name,
    direction: p.direction,
    rtt: p.stats.rtt === undefined ? undefined : Math.round(p.stats.rtt * 100) / 100,
    sent: p.stats.messagesSent,
    received: p.stats.messagesReceived,
  }))
  const s = node.stats
  out.event(
    'stats',
    { peers, messagesSent: s.messagesSent, messagesReceived: s.messagesReceived, peersUp: peers.length },
    `stats      ${peers.length} peers up, ${s.messagesSent} sent, ${s.messagesReceived} received${peers
      .map((p) => `; ${p.name ?? shortId(p.id)} rtt ${p.rtt === undefined ? '-' : `${p.rtt.toFixed(1)}ms`}`)
      .join('')}`,
  )
}

/** Checks the names of `--provide` (the grammar and the limits of a node's service list). */
function checkServices(names: readonly string[] | undefined): string[] {
  const unique = [...new Set(names ?? [])]
  try {
    encodeServiceList(unique)
  } catch (error) {
    throw new UsageError(`--provide: ${(error as Error).message}`, { cause: error })
  }
  return unique
}

/** The `start` command for commander; `options.signal` stops the node it runs. */
export function startCommand(io: CliIo, options: AbortOptions = {}): Command {
  return addNodeFlags(
    new Command('start').description('run a node: listen, discover, connect to trusted peers'),
  )
    .option('--stats <seconds>', 'print a "stats" event (peers, RTT, messages) every N seconds', parseSeconds)
    .option(
      '--duration <seconds>',
      'stop after running this many seconds (counted from the started event)',
      parseSeconds,
    )
    .option('--check', 'validate the configuration, identity and trust list, print a summary, exit')
    .option(
      '--reach',
      'with --check: then reach every trusted peer once with this identity, as `peer ping --trusted` does',
    )
    .option(
      '--connect-timeout <ms>',
      'with --reach: time limit to find and connect to each peer',
      parseMillis,
    )
    .option('-q, --quiet', 'with --reach: print only the peers out of reach, and the summary')
    .option('--json', 'one JSON object per event line: {"event":"peer:up",...}')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (loopback only)')
    .option('--metrics-allow-remote', 'allow --metrics on a non-loopback address (the endpoint has no auth)')
    .option(
      '--control <path>',
      'control socket for `peer status` (default: control.sock in the identity directory)',
    )
    .option('--no-control', 'open no control socket')
    .option(
      '--provide <service>',
      'provide this named service: publish it in the discovery record (repeatable)',
      collect,
    )
    .addOption(new Option('--chatter <ms>', 'demo traffic to every peer').argParser(parseMillis).hideHelp())
    .addOption(new Option('--exit-with-stdin', 'stop when stdin closes').hideHelp())
    .addHelpText(
      'after',
      [
        '',
        'Events (stdout): started, metrics, discovered, lost, peer:up, peer:down, peer:rejected,',
        'provider:added, provider:removed, stats, stopped;',
        'updated (a known peer changed its addresses, name or meta) at --log-level info or debug.',
        '`peer status` shows the running node through its control socket (a Unix socket, mode 0600).',
        'Stops gracefully on Ctrl-C or SIGTERM (peers see peer:down with reason "shutdown").',
        '',
        'Examples:',
        '  peer start --config peer.json',
        '  peer start --config peer.json --check',
        '  peer start --config peer.json --check --reach',
        '  peer start --config peer.json --check --reach --quiet   # only the peers out of reach',
        '  peer start --config peer.json --provide kv --provide search',
        '  peer start --identity ./n1 --listen 127.0.0.1:4001 --trust-file trust.json --peers-file peers.json',
      ].join('\n'),
    )
    .action(
      async ({
        duration,
        stats,
        chatter,
        connectTimeout,
        ...opts
      }: Omit<
        StartOptions,
        'durationMs' | 'statsIntervalMs' | 'chatterMs' | 'connectTimeoutMs' | 'signal'
      > & {
        connectTimeout?: number
      }) =>
        start(
          {
            ...opts,
            durationMs: secondsFlag(duration),
            statsIntervalMs: secondsFlag(stats),
            chatterMs: chatter,
            connectTimeoutMs: connectTimeout,
            signal: options.signal,
          },
          io,
        ),
    )
}

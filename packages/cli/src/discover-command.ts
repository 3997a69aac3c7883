import { resolve } from 'node:path'
import {
  type AbortOptions,
  consoleLogger,
  type DiscoveryBackend,
  isNodeId,
  throwIfAborted,
} from '@peer/discovery-core'
import { errorMessage, quote } from '@peer/discovery-core/internal'
import { Command, Option } from 'commander'
import { createBackend } from './backends.js'
import {
  BACKENDS,
  type BackendConfig,
  type BackendName,
  LOG_LEVELS,
  loadConfigFile,
  parseBackendConfig,
} from './config.js'
import { durationMs, secondsFlag } from './durations.js'
import { CliError, UsageError } from './errors.js'
import { parseSeconds } from './flag-numbers.js'
import { type CliIo, Output, recordFields } from './output.js'
import { shutdownSignal, untilAborted } from './shutdown.js'

/**
 * Options of {@link discover} (the command's flags). `signal` stops it as Ctrl-C does (the
 * backends stop, the `stats` lines are printed, the command resolves); a signal already aborted at
 * the call rejects with an `AbortError`, and nothing starts.
 */
export interface DiscoverOptions extends AbortOptions {
  /** Use the `discovery` section of this configuration file. */
  config?: string | undefined
  /** The backend to watch when no configuration file is given. */
  backend?: BackendName | undefined
  /** static: a peer list file. */
  file?: string | undefined
  /** static: `<id>@<host:port>[,<host:port>...]` entries. */
  peer?: string[] | undefined
  /** static: an environment variable holding a peer list. */
  env?: string | undefined
  /** static: do not watch the file. */
  watch?: boolean | undefined
  /** dns: resolvers (`ip:port`). */
  resolver?: string[] | undefined
  /** dns: the zone. */
  domain?: string | undefined
  /** dns: the SRV name; mdns: the DNS-SD service type. */
  service?: string | undefined
  /** mdns: interfaces. */
  interface?: string[] | undefined
  /** etcd: endpoint URLs. */
  endpoint?: string[] | undefined
  /** etcd: key prefix. */
  prefix?: string | undefined
  /** A node id never reported (this node's). */
  self?: string | undefined
  /** Stop after watching this many ms, counted from the `ready` event (`--duration <seconds>`). */
  durationMs?: number | undefined
  /**
   * Same as `durationMs`, in seconds.
   *
   * @deprecated Use `durationMs` (milliseconds); `duration` is in seconds and accepted until the
   * next minor version.
   */
  duration?: number | undefined
  /** Print backend logs (`debug`, `info`, `warn`, `error`) to stderr. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | undefined
  /**
   * Print one JSON object per line instead of text: the `discovered`, `updated`, `lost` and
   * `error` events, `ready` once every backend started, and one `stats` per backend on exit.
   */
  json?: boolean | undefined
}

const FLAG_NAMES: Readonly<Record<string, string>> = {
  backend: '--backend',
  file: '--file',
  peers: '--peer',
  env: '--env',
  watch: '--no-watch',
  resolvers: '--resolver',
  domain: '--domain',
  service: '--service',
  interfaces: '--interface',
  endpoints: '--endpoint',
  prefix: '--prefix',
}

/** Parses `<id>@<host:port>[,<host:port>...]` into a static peer entry (addresses still strings). */
export function parsePeerSpec(spec: string): { id: string; addresses: string[] } {
  const at = spec.indexOf('@')
  if (at === -1)
    throw new UsageError(`--peer ${quote(spec)}: expected <node id>@<host:port>[,<host:port>...]`)
  const id = spec.slice(0, at)
  if (!isNodeId(id)) {
    throw new UsageError(`--peer ${quote(spec)}: ${quote(id)} is not a node id (52 base32 characters)`)
  }
  return { id, addresses: spec.slice(at + 1).split(',') }
}

/** Builds the backend entries `peer discover` watches, from a configuration file or from flags. */
export async function discoverBackends(options: DiscoverOptions): Promise<BackendConfig[]> {
  if (options.config !== undefined) {
    const config = await loadConfigFile(resolve(options.config), { signal: options.signal })
    if (config.discovery.length === 0)
      throw new CliError(`${options.config}: no "discovery" backends configured`)
    return config.discovery
  }
  const name = options.backend ?? 'static'
  const entry: Record<string, unknown> = { backend: name }
  const set = (key: string, value: unknown) => {
    if (value !== undefined) entry[key] = value
  }
  const only = (flag: string, value: unknown, backends: readonly BackendName[]) => {
    if (value !== undefined && !backends.includes(name)) {
      throw new UsageError(`${flag} does not apply to --backend ${name} (only to ${backends.join(', ')})`)
    }
  }
  only('--file', options.file, ['static'])
  only('--peer', options.peer, ['static'])
  only('--env', options.env, ['static'])
  only('--resolver', options.resolver, ['dns'])
  only('--domain', options.domain, ['dns'])
  only('--service', options.service, ['dns', 'mdns'])
  only('--interface', options.interface, ['mdns'])
  only('--endpoint', options.endpoint, ['etcd'])
  only('--prefix', options.prefix, ['etcd'])
  switch (name) {
    case 'static':
      set('file', options.file)
      set('peers', options.peer?.map(parsePeerSpec))
      set('env', options.env)
      if (options.watch === false) entry.watch = false
      break
    case 'dns':
      set('resolvers', options.resolver)
      set('domain', options.domain)
      set('service', options.service)
      break
    case 'mdns':
      set('service', options.service)
      set('interfaces', options.interface)
      break
    case 'etcd':
      set('endpoints', options.endpoint)
      set('prefix', options.prefix)
      break
  }
  return [parseBackendConfig(entry, { file: 'command line', fieldNames: FLAG_NAMES })]
}

/**
 * `peer discover`: starts the configured backends and prints every `discovered`, `updated`, `lost`
 * and `error` event as it happens, until Ctrl-C, `--duration` or `options.signal`.
 */
export async function discover(options: DiscoverOptions, io: CliIo): Promise<void> {
  throwIfAborted(options.signal)
  const stopAfterMs = durationMs(options, {
    current: 'durationMs',
    deprecated: 'duration',
    seconds: true,
    owner: '@peer/cli discover',
  })
  const out = new Output(io, options)
  if (options.self !== undefined && !isNodeId(options.self)) {
    throw new UsageError(`--self ${quote(options.self)} is not a node id`)
  }
  const configs = await discoverBackends(options)
  const write = (line: string) => void io.stderr.write(`${line}\n`)
  const debug = io.env.PEER_DEBUG ?? ''
  // backends log to stderr from --log-level (default warn, as `peer start`: a backend's warnings,
  // such as a DNS name without SRV records or only invalid records, are what this command is for);
  // PEER_DEBUG adds every level of the namespaces it names (peer:*, peer:discovery:mdns)
  const logger =
    options.logLevel === undefined && debug !== ''
      ? consoleLogger({ filter: debug, level: 'debug', debug, write })
      : consoleLogger({ level: options.logLevel ?? 'warn', debug, write })
  const backends: DiscoveryBackend[] = []
  for (const config of configs) {
    backends.push(await createBackend(config, { self: options.self, logger, env: io.env }))
  }
  for (const backend of backends) {
    backend.addEventListener('peer:discovered', (e) =>
      out.event('discovered', recordFields(e.detail.record), line('discovered', e.detail.record)),
    )
    backend.addEventListener('peer:updated', (e) =>
      out.event('updated', recordFields(e.detail.record), line('updated', e.detail.record)),
    )
    backend.addEventListener('peer:lost', (e) => {
      const { id, name, source } = e.detail.record
      out.event(
        'lost',
        { id, name, source, reason: e.detail.reason },
        `lost       ${id}${name ? ` ${name}` : ''} (${e.detail.reason}) [${source}]`,
      )
    })
    backend.addEventListener('discovery:error', (e) =>
      out.event(
        'error',
        { source: e.detail.source, name: e.detail.error.name, message: e.detail.error.message },
        `error      [${e.detail.source}] ${e.detail.error.message}`,
      ),
    )
  }
  const shutdown = shutdownSignal({ signal: options.signal })
  const started: DiscoveryBackend[] = []
  try {
    for (const backend of backends) {
      try {
        await backend.start({ signal: shutdown.signal })
      } catch (error) {
        if (shutdown.signal.aborted) {
          // stopped while it started (it cleaned up after itself): its stats line is still printed
          started.push(backend)
          return
        }
        throw new CliError(`${backend.source}: cannot start: ${errorMessage(error)}`, { cause: error })
      }
      started.push(backend)
      out.note(`watching ${backend.source} (${[...backend.capabilities].join(', ')}); Ctrl-C to stop`)
    }
    out.event('ready', { sources: started.map((b) => b.source) }, null)
    shutdown.runFor(stopAfterMs)
    await untilAborted(shutdown.signal)
  } finally {
    shutdown.dispose()
    await Promise.allSettled(started.map((b) => b.stop()))
    for (const backend of started) printDrops(out, backend)
  }
}

/** On exit: what each backend dropped (invalid records, a full peer map) and its error counts. */
function printDrops(out: Output, backend: DiscoveryBackend): void {
  const { invalidRecords, overflowDrops, errors, listenerErrors } = backend.stats
  out.event(
    'stats',
    { source: backend.source, invalidRecords, overflowDrops, errors, listenerErrors },
    `stats      [${backend.source}] dropped ${invalidRecords} invalid, ${overflowDrops} over maxPeers; ${errors} errors`,
  )
}

function line(kind: string, record: Parameters<typeof recordFields>[0]): string {
  const f = recordFields(record)
  const addresses = (f.addresses as string[]).join(', ')
  return `${kind.padEnd(10)} ${record.id}${record.name ? ` ${record.name}` : ''}${addresses ? ` at ${addresses}` : ''} [${record.source}]`
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value]

/** The `discover` command for commander; `options.signal` stops it. */
export function discoverCommand(io: CliIo, options: AbortOptions = {}): Command {
  return new Command('discover')
    .description('watch a discovery backend and print peers as they are discovered and lost')
    .option('-c, --config <file>', 'watch the "discovery" backends of this configuration file')
    .addOption(new Option('-b, --backend <name>', 'backend to watch').choices(BACKENDS).default('static'))
    .option('--file <file>', 'static: a peer list file (watched for edits)')
    .option('--peer <id@host:port>', 'static: a peer (repeatable)', collect)
    .option('--env <var>', 'static: an environment variable holding a peer list')
    .option('--no-watch', 'static: do not watch --file for edits')
    .option('--resolver <ip:port>', 'dns: a DNS server to ask (repeatable; required)', collect)
    .option('--domain <zone>', 'dns: the zone (SRV name _peer._udp.<zone>)')
    .option('--service <name>', 'dns: the SRV name; mdns: the DNS-SD service type (_peer._udp)')
    .option('--interface <name>', 'mdns: an interface to use (repeatable)', collect)
    .option('--endpoint <url>', 'etcd: an etcd endpoint URL (repeatable; required)', collect)
    .option('--prefix <prefix>', 'etcd: the key prefix (default /peer)')
    .option('--self <id>', 'a node id never to report (this node)')
    .option(
      '--duration <seconds>',
      'stop after watching this many seconds (counted from the ready event)',
      parseSeconds,
    )
    .addOption(
      new Option(
        '--log-level <level>',
        'print backend logs to stderr from this level (default warn)',
      ).choices(LOG_LEVELS),
    )
    .option('--json', 'one JSON object per event line: {"event":"discovered",...}')
    .addHelpText(
      'after',
      [
        '',
        'Events (stdout): discovered, updated, lost, error; with --json also "ready" once started.',
        'On exit: one "stats" line per backend with its drop counters (invalid records, over maxPeers).',
        'PEER_DEBUG=peer:* (or e.g. peer:discovery:mdns) prints the debug log of those namespaces to stderr.',
        '',
        'Examples:',
        '  peer discover --file peers.json',
        '  peer discover --backend dns --resolver 10.96.0.10:53 --domain peer.svc.cluster.local',
        '  peer discover --backend mdns',
        '  peer discover --backend etcd --endpoint http://127.0.0.1:2379 --json',
        '  peer discover --config peer.json --duration 10',
      ].join('\n'),
    )
    .action(async ({ duration, ...opts }: Omit<DiscoverOptions, 'durationMs' | 'signal'>) =>
      discover({ ...opts, durationMs: secondsFlag(duration), signal: options.signal }, io),
    )
}

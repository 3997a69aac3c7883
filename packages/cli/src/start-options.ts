// The options of `peer start` (see start-command.ts) and the node flags it shares with `peer ping`.
import type { AbortOptions } from '@peer/discovery-core'
import { type Command, Option } from 'commander'
import { LOG_LEVELS } from './config.js'

/** Flags shared by `peer start` and `peer ping` that stand in for (or override) the configuration file. */
export interface NodeFlags {
  /** Configuration file (JSON; `--config`). The other flags override its fields. */
  config?: string | undefined
  /** Node name, `name@host` or `port@ip` (`--name`); replaces the configuration's `name`. */
  name?: string | undefined
  /**
   * Identity directory, holding `node.key` and `node.crt` (`--identity`). Default: the
   * configuration's `identity`, else `$PEER_HOME/identity`.
   */
  identity?: string | undefined
  /**
   * Generate the identity when it does not exist yet (`--create-identity`). Default: the
   * configuration's `createIdentity`, else false.
   */
  createIdentity?: boolean | undefined
  /**
   * UDP `host:port` to listen on, port 0 for any free port (`--listen`). Default: the
   * configuration's `listen`, else `127.0.0.1:0`; `peer ping` keeps only its host (port 0).
   */
  listen?: string | undefined
  /**
   * `host:port` addresses announced to discovery (`--advertise`), instead of the configuration's.
   * Default: the bound listen address (every interface's address when listening on `0.0.0.0` / `::`).
   */
  advertise?: string[] | undefined
  /** Trust list file (`--trust-file`), instead of the configuration's (whose inline entries stay). */
  trustFile?: string | undefined
  /** Node ids to trust (`--trust`), added to the configuration's inline trust entries. */
  trust?: string[] | undefined
  /**
   * Static discovery: a peer list file, watched for edits (`--peers-file`). With `peer`, it makes
   * one `static` backend that replaces the configuration's and is asked first.
   */
  peersFile?: string | undefined
  /** Static discovery: peers as `<id>@<host:port>[,<host:port>...]` (`--peer`); see `peersFile`. */
  peer?: string[] | undefined
  /** Log to stderr from this level on (`--log-level`). Default: the configuration's level, else `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | undefined
}

/**
 * Options of {@link start}. `signal` stops the node as Ctrl-C does (the command resolves after
 * `stopped`); a signal already aborted at the call rejects with an `AbortError`, and nothing starts.
 */
export interface StartOptions extends NodeFlags, AbortOptions {
  /** Print a `stats` event every this many ms (`--stats <seconds>` on the command line). */
  statsIntervalMs?: number | undefined
  /**
   * Same as `statsIntervalMs`, in seconds.
   *
   * @deprecated Use `statsIntervalMs` (milliseconds); `stats` is in seconds and accepted until the
   * next minor version.
   */
  stats?: number | undefined
  /**
   * Demo traffic: send a message to every peer every this many ms, and ping each peer once a
   * second (`--chatter <ms>`).
   */
  chatterMs?: number | undefined
  /**
   * Same as `chatterMs` (ms).
   *
   * @deprecated Use `chatterMs` (same unit, ms); `chatter` is accepted until the next minor version.
   */
  chatter?: number | undefined
  /** Stop when stdin closes (used by `peer demo`, so nodes die with their supervisor). */
  exitWithStdin?: boolean | undefined
  /** Stop after the node has run this many ms, counted from its `started` event (`--duration <seconds>`). */
  durationMs?: number | undefined
  /**
   * Same as `durationMs`, in seconds.
   *
   * @deprecated Use `durationMs` (milliseconds); `duration` is in seconds and accepted until the
   * next minor version.
   */
  duration?: number | undefined
  /** Validate the configuration, identity and trust list, print a summary and exit (no node starts). */
  check?: boolean | undefined
  /**
   * With `check`: then reach every trusted peer once with the checked identity, trust list and
   * discovery, as `peer ping --trusted` does (a short-lived node on a free port that never
   * announces itself); rejects when any is not reachable.
   */
  reach?: boolean | undefined
  /** With `reach`: time limit to find and connect to each peer, ms (`--connect-timeout`). Default 10,000. */
  connectTimeoutMs?: number | undefined
  /** With `reach`: print only the peers out of reach, and the summary (`-q`, `--quiet`). */
  quiet?: boolean | undefined
  /**
   * The control socket `peer status` talks to: a path, `false` for none (`--no-control`), or
   * undefined for the default, `control.sock` in the identity directory.
   */
  control?: string | false | undefined
  /**
   * Print each event as one JSON object per line, `{"event":"peer:up","time":...,...}`, instead
   * of text (what `peer demo` reads from its nodes).
   */
  json?: boolean | undefined
  /** Serve Prometheus text on this `host:port` (loopback unless `metricsAllowRemote`). */
  metrics?: string | undefined
  /** Allow `--metrics` on a non-loopback address. */
  metricsAllowRemote?: boolean | undefined
  /**
   * Named services this node provides (`node.provide(name)` for each): published in its discovery
   * record (`meta.services`) through the backends that can announce (etcd, mDNS).
   */
  provide?: string[] | undefined
}

/** Commander's argument parser of a repeatable flag: every value, in order. */
export const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value]

/** Adds the flags of {@link NodeFlags} to a command. */
export function addNodeFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file (JSON); flags below override its fields')
    .option('--name <name>', 'node name, name@host or port@ip')
    .option('-i, --identity <dir>', 'identity directory (node.key + node.crt); default $PEER_HOME/identity')
    .option('--create-identity', 'generate the identity if it does not exist')
    .option('-l, --listen <host:port>', 'UDP address to listen on (port 0: any free port)')
    .option('--advertise <host:port>', 'address announced to discovery (repeatable)', collect)
    .option('--trust-file <file>', 'trust list file')
    .option('--trust <id>', 'trust this node id (repeatable)', collect)
    .option('--peers-file <file>', 'static discovery: a peer list file (watched for edits)')
    .option('--peer <id@host:port>', 'static discovery: a peer (repeatable)', collect)
    .addOption(new Option('--log-level <level>', 'log to stderr from this level').choices(LOG_LEVELS))
}

// The options of `peer start` (see start-command.ts) and the node flags it shares with `peer ping`.
import type { AbortOptions } from '@peer/discovery-core'

/** Flags shared by `peer start` and `peer ping` that stand in for (or override) the configuration file. */
export interface NodeFlags {
  config?: string | undefined
  name?: string | undefined
  identity?: string | undefined
  createIdentity?: boolean | undefined
  listen?: string | undefined
  advertise?: string[] | undefined
  trustFile?: string | undefined
  trust?: string[] | undefined
  peersFile?: string | undefined
  peer?: string[] | undefined
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
   * @deprecated Use `statsIntervalMs` (milliseconds); `stats` is in seconds and accepted until the
   * next minor version.
   */
  stats?: number | undefined
  /**
   * Demo traffic: send a message to every peer every this many ms, and ping each peer once a
   * second (`--chatter <ms>`).
   */
  chatterMs?: number | undefined
  /** @deprecated Use `chatterMs` (same unit, ms); `chatter` is accepted until the next minor version. */
  chatter?: number | undefined
  /** Stop when stdin closes (used by `peer demo`, so nodes die with their supervisor). */
  exitWithStdin?: boolean | undefined
  /** Stop after the node has run this many ms, counted from its `started` event (`--duration <seconds>`). */
  durationMs?: number | undefined
  /**
   * @deprecated Use `durationMs` (milliseconds); `duration` is in seconds and accepted until the
   * next minor version.
   */
  duration?: number | undefined
  /** Validate the configuration, identity and trust list, print a summary and exit (no node starts). */
  check?: boolean | undefined
  /**
   * The control socket `peer status` talks to: a path, `false` for none (`--no-control`), or
   * undefined for the default, `control.sock` in the identity directory.
   */
  control?: string | false | undefined
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

// The types and limits of `peer demo`'s cluster (see demo-cluster.ts): its options, events and
// the per-node state the supervisor keeps.
import { ConfigError } from '@peer/discovery-core'

/** Most nodes `peer demo` runs. */
export const MAX_DEMO_NODES = 50
/** Nodes `peer demo` runs by default. */
export const DEFAULT_DEMO_NODES = 5

/** An option of {@link DemoCluster} is invalid. */
export class DemoConfigError extends ConfigError {}
/** Longest stdout line read from a demo node; longer lines are dropped. */
export const MAX_CHILD_LINE = 256 * 1024
/** Most lines of stderr kept per node (shown when a node fails). */
export const MAX_STDERR_LINES = 50

/** Per-peer view of one node, from its latest `stats` event. */
export interface DemoLink {
  readonly id: string
  readonly name: string | undefined
  readonly rtt: number | undefined
  readonly received: number
}

/** What the supervisor knows about one demo node. */
export interface DemoNodeState {
  readonly index: number
  readonly name: string
  id: string
  pid: number | undefined
  port: number | undefined
  state: 'starting' | 'up' | 'killed' | 'restarting' | 'stopping' | 'stopped' | 'failed'
  /** Node ids this node has up (from `peer:up` / `peer:down`). */
  readonly up: Set<string>
  /** Latest per-peer counters. */
  links: DemoLink[]
  /** Named services this node provides (`peer start --provide`, and `meta.services` in the peer list). */
  readonly provides: readonly string[]
  /** Providers this node knows, per service (from its `provider:added` / `provider:removed`). */
  readonly providers: Map<string, Set<string>>
  /** Messages received per second (over the last stats interval). */
  rate: number
  /** Starts of this node (1 + restarts). */
  starts: number
  /** Write the peer list again once this node has started (its port changed). */
  republish?: boolean | undefined
  lastStats?: { at: number; received: number } | undefined
}

/** Payload of every event the cluster emits. */
export interface DemoEventDetail {
  /** Seconds since the demo started. */
  readonly t: number
  /** The node the event is about (`node1`...), when it is about one. */
  readonly node?: string | undefined
  /** The peer (`node2`...) for `peer:up` / `peer:down`. */
  readonly peer?: string | undefined
  /** Human-readable text. */
  readonly text: string
  /** Extra fields for `--json`. */
  readonly fields?: Record<string, unknown>
}

/** Events of a {@link DemoCluster}: `peer:up`, `peer:down`, `node` (lifecycle), `step` (script), `update` (stats). */
export interface DemoEvents {
  'peer:up': CustomEvent<DemoEventDetail>
  'peer:down': CustomEvent<DemoEventDetail>
  node: CustomEvent<DemoEventDetail>
  step: CustomEvent<DemoEventDetail>
  update: CustomEvent<DemoEventDetail>
}

/** Options of {@link DemoCluster}. */
export interface DemoClusterOptions {
  /** Number of nodes, 2-{@link MAX_DEMO_NODES}. */
  nodes: number
  /** How to run `peer` in the children: executable and arguments before the command name. */
  command: { file: string; args: readonly string[] }
  /** Stats interval of the nodes, ms (each node's `--stats`). Default 500. */
  statsIntervalMs?: number
  /**
   * @deprecated Use `statsIntervalMs` (milliseconds); `statsInterval` is in seconds and accepted
   * until the next minor version.
   */
  statsInterval?: number
  /** Demo traffic interval, ms. Default 100. */
  chatterMs?: number
  /** QUIC idle timeout, ms: how fast a killed node is noticed. Default 3000. */
  idleTimeoutMs?: number
  /** Named services per node (`node1`...): the nodes provide them and the peer list carries them. */
  services?: Readonly<Record<string, readonly string[]>>
}

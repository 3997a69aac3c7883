import { shortId } from '@peer/discovery-core'
import Table from 'cli-table3'
import type { DemoCluster } from './demo-cluster.js'

/** Options of {@link renderDemoTable}. */
export interface DemoTableOptions {
  /** The scripted run's length, seconds (shown in the title). */
  duration: number
  /** Recent event lines shown under the table. */
  events: readonly string[]
  /** Terminal width; long event lines are cut to it. */
  width?: number | undefined
}

/**
 * Renders the demo's live view: one row per node (id, port, state, peers up, mean RTT to its
 * peers, messages received per second) and the most recent events. Drawn in place with
 * `log-update` when stdout is a terminal.
 */
export function renderDemoTable(cluster: DemoCluster, options: DemoTableOptions): string {
  const n = cluster.nodes.length
  const table = new Table({
    head: ['node', 'id', 'pid', 'port', 'state', 'peers', 'rtt ms', 'msg/s'],
    colAligns: ['left', 'left', 'right', 'right', 'left', 'right', 'right', 'right'],
    style: { head: ['cyan'], border: ['grey'] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  })
  for (const node of cluster.nodes) {
    const rtts = node.links.map((l) => l.rtt).filter((r): r is number => r !== undefined)
    const rtt = rtts.length === 0 ? '-' : (rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(2)
    const running = node.state === 'up'
    table.push([
      node.name,
      shortId(node.id),
      node.pid ?? '-',
      node.port ?? '-',
      node.state,
      running ? `${node.up.size}/${n - 1}` : '-',
      running ? rtt : '-',
      running ? node.rate.toFixed(0) : '-',
    ])
  }
  const width = Math.max(40, options.width ?? 100)
  const title =
    `peer demo: ${n} nodes on 127.0.0.1, QUIC + mutual TLS, static discovery` +
    `  ${cluster.elapsed().toFixed(1)} s / ${options.duration} s  (Ctrl-C to stop)`
  const events = options.events.map((e) => (e.length > width ? `${e.slice(0, width - 1)}…` : e))
  return [title, table.toString(), '', ...events].join('\n')
}

/** One plain line summarising every node (peers up, mean RTT, messages/s), for non-terminal output. */
export function demoStatsLine(cluster: DemoCluster): string {
  const n = cluster.nodes.length
  return cluster.nodes
    .map((node) => {
      if (node.state !== 'up') return `${node.name} ${node.state}`
      const rtts = node.links.map((l) => l.rtt).filter((r): r is number => r !== undefined)
      const rtt = rtts.length === 0 ? '-' : `${(rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(1)}ms`
      return `${node.name} ${node.up.size}/${n - 1} rtt ${rtt} ${node.rate.toFixed(0)} msg/s`
    })
    .join(' | ')
}

// The curve of `pnpm bench cluster`: every run merges its rows into docs/bench/cluster.json (keyed
// by policy, backend and N, so N = 100 can be measured in a later run than N = 20 and 50) and
// redraws docs/bench/cluster.svg from all of them: one small panel per figure, the figure against
// N, one line per policy and backend. Hand-written SVG, no dependency.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One measured cluster: the figures of one policy, backend and size. */
export interface ClusterRow {
  policy: string
  backend: string
  nodes: number
  processes: number
  /** Nodes that got to know every member (and, for mesh, were connected to all) within the bench's limit. */
  formedNodes: number
  /** ms from the last node's start until every node knew every member. */
  membersMs: number | null
  /** ms from the last node's start until every node was connected to every member (mesh). */
  connectedMs: number | null
  /** ms from the first node's start until the cluster was complete. */
  formMs: number | null
  /** Requests of both rounds that failed (a member not connected when the cluster did not form). */
  requestFailures: number
  /** Registry dials over every node until after both request rounds (absent in rows of older runs). */
  dials?: number
  /** Of those, dials that failed on every address, and single-address dials that timed out. */
  dialFailures?: number
  dialTimeouts?: number
  /** Wall time until every node's 5 requests were answered (first round, then second round). */
  requestsMs: number
  requestP50Ms: number
  requestP99Ms: number
  secondRequestsMs: number
  secondRequestP50Ms: number
  /** One node's first use of members in turn, no storm: p50 of the first (dials) and second request. */
  singleFirstP50Ms?: number
  singleAgainP50Ms?: number
  connections: number
  /** RSS growth of the node processes, divided by the nodes (MiB). */
  rssPerNodeMiB: number
  /** Idle CPU of every node process together, % of one core. */
  idleCpuPct: number
  /** Idle CPU of etcd, % of one core (etcd backend only). */
  etcdCpuPct: number | null
  /**
   * Connections from the other nodes to the killed process's nodes at the kill: the `peer:down`
   * expected (every pair with `mesh`; with `on-demand` the pairs the requests connected). Absent
   * in rows of older runs (they waited for every pair).
   */
  downPairs?: number
  /**
   * ms from kill -9 of one process until every connection to its nodes was reported `peer:down`.
   * Since `usedPairs` (rows that have it), only the connections nothing was sent on after the kill.
   */
  peerDownMs: number | null
  /**
   * Connections to the killed nodes that a request was sent on right after the kill (from every
   * other survivor node; the request times out, which makes `@peer/node` probe the peer). Absent
   * in rows of older runs.
   */
  usedPairs?: number
  /** ms from kill -9 until every one of the `usedPairs` connections was reported `peer:down`. */
  usedPeerDownMs?: number | null
  /** ms from kill -9 until every other node emitted `member:left` for the killed nodes (etcd only). */
  memberLeftMs: number | null
  /** ms to stop the remaining nodes (every process at once). */
  stopMs: number
  /** CPU of the stopped nodes' processes (all together) over a second from 0.5 s after the stop, % of a core; absent in rows of older runs. */
  cpuAfterStopPct?: number
  /** The same from 2 s after the stop (past the teardown: about 0 unless something never stops); absent in rows of older runs. */
  cpuLaterAfterStopPct?: number
  /** `/proc/loadavg` (1 min) before and after. */
  loadBefore: number
  loadAfter: number
  date: string
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const DATA_FILE = join(root, 'docs', 'bench', 'cluster.json')
export const SVG_FILE = join(root, 'docs', 'bench', 'cluster.svg')

const keyOf = (r: ClusterRow) => `${r.policy}/${r.backend}/${r.nodes}`

/** Merges `rows` into the data file (a new row replaces one with the same key); returns all rows. */
export function mergeRows(rows: readonly ClusterRow[]): ClusterRow[] {
  const all = new Map<string, ClusterRow>()
  if (existsSync(DATA_FILE)) {
    for (const r of JSON.parse(readFileSync(DATA_FILE, 'utf8')) as ClusterRow[]) all.set(keyOf(r), r)
  }
  for (const r of rows) all.set(keyOf(r), r)
  const sorted = [...all.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)) || a.nodes - b.nodes)
  mkdirSync(dirname(DATA_FILE), { recursive: true })
  writeFileSync(DATA_FILE, `${JSON.stringify(sorted, null, 2)}\n`)
  return sorted
}

const PANELS: Array<{ title: string; unit: string; value: (r: ClusterRow) => number | null }> = [
  { title: 'cluster complete after last start', unit: 'ms', value: (r) => r.connectedMs ?? r.membersMs },
  { title: '5 requests from every node answered', unit: 'ms', value: (r) => r.requestsMs },
  { title: 'connections open', unit: '', value: (r) => r.connections },
  { title: 'RSS per node', unit: 'MiB', value: (r) => r.rssPerNodeMiB },
  { title: 'idle CPU, whole cluster', unit: '% of a core', value: (r) => r.idleCpuPct },
  { title: 'stop everything', unit: 'ms', value: (r) => r.stopMs },
  { title: 'peer:down after kill -9', unit: 'ms', value: (r) => r.peerDownMs },
  { title: 'peer:down after kill -9 + a request', unit: 'ms', value: (r) => r.usedPeerDownMs ?? null },
  { title: 'member:left after kill -9', unit: 'ms', value: (r) => r.memberLeftMs },
]

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const num = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1))

/** Draws the panels for `rows` and writes the SVG file; returns its path. */
export function writeSvg(rows: readonly ClusterRow[]): string {
  const series = [...new Set(rows.map((r) => `${r.policy}, ${r.backend}`))].sort()
  const sizes = [...new Set(rows.map((r) => r.nodes))].sort((a, b) => a - b)
  const cols = 4
  const w = 260
  const h = 190
  const pad = { left: 52, right: 12, top: 28, bottom: 34 }
  const legendH = 24 + 16 * series.length
  const width = cols * w
  const height = Math.ceil(PANELS.length / cols) * h + legendH
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ]
  const minN = sizes[0] ?? 0
  const maxN = sizes[sizes.length - 1] ?? 1
  PANELS.forEach((panel, i) => {
    const ox = (i % cols) * w
    const oy = Math.floor(i / cols) * h
    const pw = w - pad.left - pad.right
    const ph = h - pad.top - pad.bottom
    const values = rows.map(panel.value).filter((v): v is number => v !== null && Number.isFinite(v))
    const maxV = Math.max(1e-9, ...values) * 1.1
    const x = (n: number) => ox + pad.left + (maxN === minN ? pw / 2 : ((n - minN) / (maxN - minN)) * pw)
    const y = (v: number) => oy + pad.top + ph - (v / maxV) * ph
    out.push(
      `<text x="${ox + w / 2}" y="${oy + 16}" text-anchor="middle" font-weight="bold">${esc(panel.title)}</text>`,
      `<line x1="${ox + pad.left}" y1="${oy + pad.top + ph}" x2="${ox + pad.left + pw}" y2="${oy + pad.top + ph}" stroke="#444"/>`,
      `<line x1="${ox + pad.left}" y1="${oy + pad.top}" x2="${ox + pad.left}" y2="${oy + pad.top + ph}" stroke="#444"/>`,
    )
    for (const f of [0, 0.5, 1]) {
      const v = (maxV / 1.1) * f
      out.push(
        `<line x1="${ox + pad.left - 3}" y1="${y(v)}" x2="${ox + pad.left + pw}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${ox + pad.left - 5}" y="${y(v) + 4}" text-anchor="end">${num(v)}</text>`,
      )
    }
    for (const n of sizes) {
      out.push(`<text x="${x(n)}" y="${oy + pad.top + ph + 14}" text-anchor="middle">${n}</text>`)
    }
    out.push(
      `<text x="${ox + pad.left + pw / 2}" y="${oy + h - 6}" text-anchor="middle" fill="#555">nodes${panel.unit ? `; ${esc(panel.unit)}` : ''}</text>`,
    )
    series.forEach((s, si) => {
      const pts = rows
        .filter((r) => `${r.policy}, ${r.backend}` === s)
        .map((r) => [r.nodes, panel.value(r)] as const)
        .filter((p): p is readonly [number, number] => p[1] !== null && Number.isFinite(p[1]))
        .sort((a, b) => a[0] - b[0])
      const color = COLORS[si % COLORS.length]
      const dash = s.startsWith('on-demand') ? ' stroke-dasharray="5,3"' : ''
      if (pts.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map(([n, v]) => `${x(n).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
        )
      }
      for (const [n, v] of pts)
        out.push(`<circle cx="${x(n).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`)
    })
  })
  const ly = Math.ceil(PANELS.length / cols) * h + 8
  out.push(
    `<text x="12" y="${ly + 8}" fill="#555">pnpm bench cluster: N nodes in N/10 processes on one 2-core machine (loopback QUIC)</text>`,
  )
  series.forEach((s, si) => {
    const yy = ly + 24 + 16 * si
    out.push(
      `<line x1="12" y1="${yy - 4}" x2="36" y2="${yy - 4}" stroke="${COLORS[si % COLORS.length]}" stroke-width="2"${s.startsWith('on-demand') ? ' stroke-dasharray="5,3"' : ''}/>`,
      `<text x="42" y="${yy}">${esc(s)}</text>`,
    )
  })
  out.push('</svg>')
  mkdirSync(dirname(SVG_FILE), { recursive: true })
  writeFileSync(SVG_FILE, `${out.join('\n')}\n`)
  return SVG_FILE
}

/** The markdown table of `rows` (for the report and docs/benchmarks/cluster.md). */
export function rowsTable(rows: readonly ClusterRow[]): string {
  const f = (v: number | null, digits = 0) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits))
  const lines = [
    '| policy | backend | nodes / processes | members known after last start, ms | all connected after last start, ms | form from first start, ms | 5 requests per node answered, ms (p50 / p99) | again, ms (p50) | dials (failed, timed out) | connections | RSS per node, MiB | idle CPU, % of a core (etcd) | peer:down after kill -9, ms (connections) | peer:down after kill -9 + a request, ms (connections) | member:left, ms | stop, ms (CPU after: 0.5-1.5 s / 2-3 s, % of a core) | load 1 min before / after |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(
      `| ${r.policy} | ${r.backend} | ${r.nodes} / ${r.processes}${r.formedNodes < r.nodes ? ` (only ${r.formedNodes} complete)` : ''} | ${f(r.membersMs)} | ${f(r.connectedMs)} | ${f(r.formMs)} | ${f(r.requestsMs)} (${f(r.requestP50Ms, 1)} / ${f(r.requestP99Ms, 1)})${r.requestFailures > 0 ? `, ${r.requestFailures} failed` : ''} | ${f(r.secondRequestsMs)} (${f(r.secondRequestP50Ms, 1)}) | ${r.dials === undefined ? 'n/a' : `${r.dials} (${r.dialFailures ?? 0}, ${r.dialTimeouts ?? 0})`} | ${r.connections} | ${f(r.rssPerNodeMiB, 1)} | ${f(r.idleCpuPct, 1)}${r.etcdCpuPct === null ? '' : ` (${f(r.etcdCpuPct, 1)})`} | ${f(r.peerDownMs)}${r.downPairs === undefined ? '' : ` (${r.downPairs})`} | ${r.usedPairs === undefined ? 'n/a' : `${f(r.usedPeerDownMs ?? null)} (${r.usedPairs})`} | ${f(r.memberLeftMs)} | ${f(r.stopMs)}${r.cpuAfterStopPct === undefined ? '' : ` (${f(r.cpuAfterStopPct, 1)}${r.cpuLaterAfterStopPct === undefined ? '' : ` / ${f(r.cpuLaterAfterStopPct, 1)}`})`} | ${r.loadBefore.toFixed(1)} / ${r.loadAfter.toFixed(1)} |`,
    )
  }
  return lines.join('\n')
}

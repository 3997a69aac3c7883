// The figures of the transport suite: per-stack values per round, their medians, the per-round
// ratios of our transport (on each engine) against raw quinn and node:tls, and the issue's targets.
import { fmtList, median, ratios } from './bench-stats.js'
import type { Measurement } from './report.js'
import { STACKS, type StackName } from './transport-stacks.js'

export type StackValues = Record<StackName, number[]>
/** An empty list of values per stack, to fill round by round. */
export const emptyStackValues = (): StackValues =>
  Object.fromEntries(STACKS.map((s) => [s, [] as number[]])) as StackValues
type Better = 'higher' | 'lower'

/** Targets for peer-quinn, as ratios (`>=` for higher-is-better figures, `<=` otherwise). */
export const TARGETS: Record<string, { raw?: number; tls?: number; absolute?: string }> = {
  'bulk, loopback': { raw: 0.8 },
  'bulk, veth': { raw: 0.8, tls: 0.5 },
  '64 B messages': { raw: 0.8 },
  'request/response p50': { raw: 1.2 },
  'request/response p99': { raw: 1.5 },
  connect: { raw: 1.5 },
  'RSS per idle connection, server': { raw: 1.5, absolute: '<= 80 KiB' },
  'idle CPU, 200 connections, keepalive 5 s': { raw: 2 },
  'close 200 connections': { raw: 2 },
  'close with a stream in use': { raw: 2 },
}

interface Row {
  name: string
  unit: string
  better: Better
  median: Record<StackName, number>
  /** medians of per-round ratios */
  quinnVsRaw: number
  quinnVsTls: number
  matrixaiVsRaw: number
}

const SHORT: Record<StackName, string> = {
  'peer-quinn': 'peer/quinn',
  'peer-matrixai': 'peer/matrixai',
  'raw-quinn': 'raw quinn',
  'raw-matrixai': 'raw matrixai',
  tls: 'node:tls',
}

export class Figures {
  readonly rows: Row[] = []
  constructor(
    readonly measurements: Measurement[],
    private readonly log: (line: string) => void,
  ) {}

  /** Records one figure: `values[stack][round]`, rounds interleaved across stacks. */
  add(name: string, unit: string, values: StackValues, better: Better, notes?: string): void {
    const med = {} as Record<StackName, number>
    for (const stack of STACKS) {
      const v = values[stack].filter((x) => Number.isFinite(x))
      med[stack] = median(v)
      this.log(`${name} ${stack}: ${fmt(med[stack])} ${unit} (runs ${fmtList(v, med[stack] < 100 ? 2 : 0)})`)
      this.measurements.push({
        name: `${name} ${stack}`,
        value: med[stack],
        unit,
        ...(stack === 'raw-quinn' ? {} : { baseline: `${name} raw-quinn` }),
        notes: `${stack === 'raw-quinn' && notes ? `${notes}; ` : ''}runs ${fmtList(v, 2)}`,
      })
    }
    const target = TARGETS[name]
    const row: Row = {
      name,
      unit,
      better,
      median: med,
      quinnVsRaw: median(ratios(values['peer-quinn'], values['raw-quinn'])),
      quinnVsTls: median(ratios(values['peer-quinn'], values.tls)),
      matrixaiVsRaw: median(ratios(values['peer-matrixai'], values['raw-quinn'])),
    }
    this.rows.push(row)
    const op = better === 'higher' ? '>=' : '<='
    this.measurements.push({
      name: `${name}: peer-quinn / raw-quinn, median of per-round ratios`,
      value: row.quinnVsRaw,
      unit: 'x',
      ...(target?.raw !== undefined ? { target: `${op} ${target.raw}` } : {}),
    })
    this.measurements.push({
      name: `${name}: peer-quinn / tls, median of per-round ratios`,
      value: row.quinnVsTls,
      unit: 'x',
      ...(target?.tls !== undefined ? { target: `${op} ${target.tls}` } : {}),
    })
    this.measurements.push({
      name: `${name}: peer-matrixai / raw-quinn, median of per-round ratios`,
      value: row.matrixaiVsRaw,
      unit: 'x',
    })
    this.log(
      `${name}: peer-quinn / raw-quinn ${row.quinnVsRaw.toFixed(2)}, / tls ${row.quinnVsTls.toFixed(2)}; peer-matrixai / raw-quinn ${row.matrixaiVsRaw.toFixed(2)}`,
    )
  }

  /** Markdown: every figure per stack, and the targets for peer-quinn with met / missed. */
  tables(): string[] {
    const values = [
      `| figure | ${STACKS.map((s) => SHORT[s]).join(' | ')} |`,
      `|---|${STACKS.map(() => '---').join('|')}|`,
      ...this.rows.map(
        (r) => `| ${r.name}, ${r.unit} | ${STACKS.map((s) => fmt(r.median[s])).join(' | ')} |`,
      ),
    ]
    const targets = [
      '| figure | peer/quinn / raw quinn | target | peer/quinn / node:tls | target | peer/matrixai / raw quinn | met |',
      '|---|---|---|---|---|---|---|',
    ]
    for (const r of this.rows) {
      const t = TARGETS[r.name]
      if (t === undefined) continue
      const op = r.better === 'higher' ? '>=' : '<='
      const ok = (v: number, limit: number | undefined) =>
        limit === undefined || (r.better === 'higher' ? v >= limit : v <= limit)
      let met = ok(r.quinnVsRaw, t.raw) && ok(r.quinnVsTls, t.tls)
      if (t.absolute !== undefined) met &&= r.median['peer-quinn'] <= 80
      targets.push(
        `| ${r.name} | ${r.quinnVsRaw.toFixed(2)}x | ${t.raw === undefined ? '' : `${op} ${t.raw}`}${t.absolute ? ` (${t.absolute}: ${fmt(r.median['peer-quinn'])})` : ''} | ${r.quinnVsTls.toFixed(2)}x | ${t.tls === undefined ? '' : `${op} ${t.tls}`} | ${r.matrixaiVsRaw.toFixed(2)}x | ${met ? 'yes' : '**no**'} |`,
      )
    }
    return [values.join('\n'), targets.join('\n')]
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a'
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)
}

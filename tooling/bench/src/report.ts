// The shape every benchmark suite returns, and the writer for JSON + markdown reports.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One measured figure. `baseline` names the row it is compared against, measured in the same run. */
export interface Measurement {
  name: string
  value: number
  unit: string
  /** Name of the baseline measurement in the same suite, for the ratio column. */
  baseline?: string
  /** Target from the issue, e.g. `>= 60`; shown next to the value. */
  target?: string
  notes?: string
}

export interface SuiteResult {
  suite: string
  measurements: Measurement[]
  notes?: string[]
  /** Markdown tables printed as they are, after the measurements. */
  tables?: string[]
}

/** A suite module in `src/suites/<name>.ts` default-exports one of these. */
export interface Suite {
  name: string
  description: string
  run(options: { quick: boolean }): Promise<SuiteResult>
}

export function machine() {
  return {
    node: process.version,
    code: process.env.PEER_USE_BUILT === '1' ? 'built dist' : 'TypeScript sources through tsx',
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  }
}

export function toMarkdown(results: SuiteResult[]): string {
  const m = machine()
  const lines = [
    `Measured ${m.date} on ${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; code: ${m.code}.`,
    '',
  ]
  for (const r of results) {
    lines.push(
      `### ${r.suite}`,
      '',
      '| measurement | value | unit | vs baseline | target |',
      '|---|---|---|---|---|',
    )
    const byName = new Map(r.measurements.map((x) => [x.name, x]))
    for (const x of r.measurements) {
      const base = x.baseline ? byName.get(x.baseline) : undefined
      const ratio = base && base.value !== 0 ? `${(x.value / base.value).toFixed(2)}x ${x.baseline}` : ''
      lines.push(`| ${x.name} | ${fmt(x.value)} | ${x.unit} | ${ratio} | ${x.target ?? ''} |`)
    }
    for (const t of r.tables ?? []) lines.push('', t)
    for (const n of r.notes ?? []) lines.push('', `- ${n}`)
    lines.push('')
  }
  return lines.join('\n')
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)
}

export function writeReport(results: SuiteResult[]): { json: string; markdown: string } {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results')
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const json = join(dir, `bench-${stamp}.json`)
  const markdown = join(dir, `bench-${stamp}.md`)
  writeFileSync(json, JSON.stringify({ machine: machine(), results }, null, 2))
  writeFileSync(markdown, toMarkdown(results))
  return { json, markdown }
}

// pnpm bench [--quick] [suite ...]: runs the named suites (all by default) in one process, one
// after the other, and writes a JSON + markdown report to tooling/bench/results/. `pnpm bench`
// builds first and loads the built packages (PEER_USE_BUILT=1); `pnpm bench:sources` the sources.
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type Suite, type SuiteResult, toMarkdown, writeReport } from './report.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const dir = join(dirname(fileURLToPath(import.meta.url)), 'suites')
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort()
// a group name runs every suite named `<group>-*`: `pnpm bench node` runs node-cluster and node-messaging
const inGroup = (w: string) => available.filter((a) => a.startsWith(`${w}-`))
const wanted = args
  .filter((a) => !a.startsWith('--'))
  .flatMap((w) => (available.includes(w) || inGroup(w).length === 0 ? [w] : inGroup(w)))

const unknown = wanted.filter((w) => !available.includes(w))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${available.join(', ')}`)
  process.exit(2)
}

const results: SuiteResult[] = []
for (const name of wanted.length > 0 ? wanted : available) {
  const suite = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)).default as Suite
  console.error(`running ${suite.name}: ${suite.description}`)
  results.push(await suite.run({ quick }))
}
const { json, markdown } = writeReport(results)
console.log(toMarkdown(results))
console.error(`report: ${json}\n        ${markdown}`)

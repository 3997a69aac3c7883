// pnpm bench transport: five stacks side by side, in one run, interleaved rounds: our transport on
// quinn and on @matrixai, the quinn binding used directly, @matrixai through the engine module
// only, and node:tls 1.3 with the same framing and pinning. Loopback (each stack's server and client
// in two child processes of their own), idle connections (fresh processes), and a veth pair with
// MTU 1500 between two network namespaces (root only). Ratios are against raw quinn and node:tls
// from the same run.
import { generateIdentity } from '@peer/identity'
import type { RpcChild } from '@peer/testkit/child-process'
import { loadAverage } from '../bench-stats.js'
import { enginePatchNote } from '../matrixai-raw.js'
import type { Measurement, Suite } from '../report.js'
import { runLoopback } from '../transport-bench.js'
import { Figures } from '../transport-figures.js'
import { runIdle } from '../transport-idle.js'
import { startStackPairs } from '../transport-pairs.js'
import { runVeth } from '../transport-veth.js'

const HOST = '127.0.0.1'
/** The whole suite must finish within this; otherwise the process exits (children and namespaces go with it). */
const SUITE_TIMEOUT_MS = 30 * 60_000

const suite: Suite = {
  name: 'transport',
  description:
    'our transport on quinn and matrixai vs raw quinn, raw matrixai and node:tls: loopback, idle, veth',
  async run({ quick }) {
    const watchdog = setTimeout(() => {
      console.error(`transport suite: no result within ${SUITE_TIMEOUT_MS / 60_000} min, exiting`)
      process.exit(3)
    }, SUITE_TIMEOUT_MS)
    watchdog.unref()
    const log = (line: string) => process.stderr.write(`  ${line}\n`)
    const loadBefore = await loadAverage()
    const identity = await generateIdentity()
    const measurements: Measurement[] = []
    const figures = new Figures(measurements, log)
    const notes: string[] = []
    const children: RpcChild[] = []
    try {
      const { pairs, endpoints, engines } = await startStackPairs(identity, HOST, children)
      notes.push(
        `engines: peer-quinn ran on ${engines['peer-quinn']}, peer-matrixai on ${engines['peer-matrixai']}; raw-matrixai and peer-matrixai: ${enginePatchNote()}`,
      )
      notes.push(await runLoopback({ pairs, endpoints, quick, figures, log }))
    } finally {
      await Promise.allSettled(children.map((c) => c.close()))
    }
    notes.push(await runIdle({ identity, host: HOST, quick, figures, log }))
    notes.push(await runVeth({ identity, quick, figures, log }))
    const loadAfter = await loadAverage()
    notes.push(`load average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}`)
    clearTimeout(watchdog)
    return { suite: 'transport', measurements, notes, tables: figures.tables() }
  },
}

export default suite

// pnpm bench libp2p: a @peer/node pair next to a js-libp2p 3 pair over @chainsafe/libp2p-quic
// (quinn), measured in the same run, interleaved: request/response p50, 64-byte messages/s, bulk.
// Server halves in a child process (libp2p-server.ts), client halves here. Target: the node pair
// ahead of libp2p on every figure.
import '../polyfill.js'
import { fileURLToPath } from 'node:url'
import { generateIdentity } from '@peer/identity'
import { spawnChild } from '@peer/testkit/child-process'
import { fmtList, interleaved, loadAverage, median, percentile, ratios, watchdog } from '../bench-stats.js'
import { ENGINES, libp2pClient, nodeClient, type PairClient } from '../libp2p-pair.js'
import type { Measurement, Suite } from '../report.js'

const SERVER = fileURLToPath(new URL('../libp2p-server.ts', import.meta.url))
const PAIRS = ['node-quinn', 'node-matrixai', 'libp2p'] as const
type Pair = (typeof PAIRS)[number]
const MiB = 1024 * 1024
const SUITE_TIMEOUT_MS = 15 * 60_000

const suite: Suite = {
  name: 'libp2p',
  description:
    '@peer/node pairs (quinn, matrixai) vs js-libp2p pair over @chainsafe/libp2p-quic: request p50, messages/s, bulk',
  async run({ quick }) {
    const log = (line: string) => process.stderr.write(`  ${line}\n`)
    const loadBefore = await loadAverage()
    const rounds = quick ? 2 : 6
    const requests = quick ? 300 : 2_000
    const count = quick ? 20_000 : 100_000
    const bytes = quick ? 16 * MiB : 32 * MiB
    const identity = await generateIdentity()
    const child = await spawnChild(SERVER)
    const clients: Partial<Record<Pair, PairClient>> = {}
    const measurements: Measurement[] = []
    const rows: string[] = [
      '| figure | node on quinn | node on matrixai | js-libp2p | node-quinn / libp2p | node-matrixai / libp2p | node-quinn ahead |',
      '|---|---|---|---|---|---|---|',
    ]
    try {
      await watchdog(
        (async () => {
          const s = await child.call<{
            libp2p: string
            nodes: Record<'quinn' | 'matrixai', { id: string; name: string; address: unknown }>
          }>('start', { clientId: identity.id }, { timeoutMs: 60_000 })
          clients.libp2p = await libp2pClient(s.libp2p)
          for (const engine of ENGINES)
            clients[`node-${engine}`] = await nodeClient(identity, engine, s.nodes[engine])
          const c = clients as Record<Pair, PairClient>
          for (const p of PAIRS) await c[p].requests(200) // warm-up
          const p50 = await interleaved(PAIRS, rounds, async (p) => {
            const v = (await c[p].requests(requests)).sort((a, b) => a - b)
            return percentile(v, 0.5)
          })
          const msgs = await interleaved(PAIRS, rounds, (p) => c[p].messages(count))
          const bulk = await interleaved(PAIRS, rounds, (p) => c[p].bulk(bytes))
          const add = (name: string, unit: string, v: Record<Pair, number[]>, better: 'higher' | 'lower') => {
            const r = median(ratios(v['node-quinn'], v.libp2p))
            const rm = median(ratios(v['node-matrixai'], v.libp2p))
            const ahead = better === 'higher' ? r > 1 : r < 1
            for (const p of PAIRS) {
              log(`${name} ${p}: ${median(v[p]).toFixed(1)} ${unit} (runs ${fmtList(v[p], 1)})`)
              measurements.push({
                name: `${name} ${p}`,
                value: median(v[p]),
                unit,
                ...(p === 'libp2p' ? {} : { baseline: `${name} libp2p` }),
                notes: `runs ${fmtList(v[p], 1)}`,
              })
            }
            measurements.push({
              name: `${name}: node-quinn / libp2p, median of per-round ratios`,
              value: r,
              unit: 'x',
              target: better === 'higher' ? '> 1' : '< 1',
            })
            measurements.push({
              name: `${name}: node-matrixai / libp2p, median of per-round ratios`,
              value: rm,
              unit: 'x',
            })
            rows.push(
              `| ${name}, ${unit} | ${median(v['node-quinn']).toFixed(1)} | ${median(v['node-matrixai']).toFixed(1)} | ${median(v.libp2p).toFixed(1)} | ${r.toFixed(2)}x | ${rm.toFixed(2)}x | ${ahead ? 'yes' : '**no**'} |`,
            )
          }
          add('request/response p50', 'us', p50, 'lower')
          add('64 B messages', 'msg/s', msgs, 'higher')
          add('bulk', 'MB/s', bulk, 'higher')
        })(),
        SUITE_TIMEOUT_MS,
        'libp2p suite',
      )
    } finally {
      await Promise.allSettled(Object.values(clients).map((c) => c.close()))
      await child.close()
    }
    return {
      suite: 'libp2p',
      measurements,
      tables: [rows.join('\n')],
      notes: [
        `one client process (this one) and one server process; ${rounds} interleaved rounds per figure; request/response: ${requests} sequential 64 B requests per run (libp2p: one stream, the server echoes; node: request + handler returning the payload); messages: ${count.toLocaleString('en-US')} x 64 B (libp2p: stream.send each; node: send, counted by a handler); bulk: ${bytes / MiB} MiB in 64 KiB messages; rates end when the server has counted everything`,
        'libp2p 3.3 over @chainsafe/libp2p-quic 2.1 (quinn, its own binding 2.1.1), no other services; Promise.withResolvers polyfilled in the bench processes (Node 20)',
        '@peer/node pairs: one per engine (`transport: { engine }`), default options otherwise',
        `load average (1, 5, 15 min): before ${loadBefore}, after ${await loadAverage()}`,
      ],
    }
  },
}

export default suite

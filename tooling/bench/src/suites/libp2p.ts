// pnpm bench libp2p: a @peer/node pair next to a js-libp2p 3 pair over @chainsafe/libp2p-quic
// (quinn), measured in the same run, interleaved: request/response p50, 64-byte messages/s, bulk.
// Each half of each pair runs in a child process of its own (libp2p-server.ts, libp2p-client.ts),
// as users run one stack per process: with every pair in one process pair, an idle matrixai node
// moved the quinn node pair's request p50 from about 160 to about 225 us (docs/benchmarks/libp2p.md).
// Target: the node pair ahead of libp2p on every figure.
import { fileURLToPath } from 'node:url'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { fmtList, interleaved, loadAverage, median, percentile, ratios, watchdog } from '../bench-stats.js'
import { PAIRS, type PairClient, type PairName, type ServerInfo } from '../libp2p-pair.js'
import type { Measurement, Suite } from '../report.js'

const SERVER = fileURLToPath(new URL('../libp2p-server.ts', import.meta.url))
const CLIENT = fileURLToPath(new URL('../libp2p-client.ts', import.meta.url))
type Pair = PairName
const MiB = 1024 * 1024
const SUITE_TIMEOUT_MS = 15 * 60_000
/** One measured run may take long on a loaded machine; the suite's watchdog bounds the whole. */
const RUN_TIMEOUT_MS = 5 * 60_000

/** A pair's client child as a {@link PairClient}. */
function remoteClient(child: RpcChild): PairClient {
  const t = { timeoutMs: RUN_TIMEOUT_MS }
  return {
    requests: (n) => child.call<number[]>('requests', { n }, t),
    messages: (n) => child.call<number>('messages', { n }, t),
    bulk: (bytes) => child.call<number>('bulk', { bytes }, t),
    close: async () => {
      await child.close()
    },
  }
}

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
    const children: RpcChild[] = []
    const clients: Partial<Record<Pair, PairClient>> = {}
    const measurements: Measurement[] = []
    const rows: string[] = [
      '| figure | node on quinn | node on matrixai | js-libp2p | node-quinn / libp2p | node-matrixai / libp2p | node-quinn ahead |',
      '|---|---|---|---|---|---|---|',
    ]
    try {
      await watchdog(
        (async () => {
          for (const pair of PAIRS) {
            const server = await spawnChild(SERVER)
            children.push(server)
            const client = await spawnChild(CLIENT)
            children.push(client)
            const clientId = await client.call<string>('id')
            const info = await server.call<ServerInfo>('start', { pair, clientId }, { timeoutMs: 60_000 })
            await client.call('connect', { pair, server: info }, { timeoutMs: 60_000 })
            clients[pair] = remoteClient(client)
          }
          const c = clients as Record<Pair, PairClient>
          // warm-up: a fresh process's first ~1,500 requests run while V8 optimizes the path
          for (const p of PAIRS) await c[p].requests(2_000)
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
      await Promise.allSettled(children.map((c) => c.close()))
    }
    return {
      suite: 'libp2p',
      measurements,
      tables: [rows.join('\n')],
      notes: [
        `each half of each pair in a process of its own (6 child processes); ${rounds} interleaved rounds per figure; request/response: ${requests} sequential 64 B requests per run (libp2p: one stream, the server echoes; node: request + handler returning the payload); messages: ${count.toLocaleString('en-US')} x 64 B (libp2p: stream.send each; node: send, counted by a handler); bulk: ${bytes / MiB} MiB in 64 KiB messages; rates end when the server has counted everything`,
        'libp2p 3.3 over @chainsafe/libp2p-quic 2.1 (quinn, its own binding 2.1.1), no other services; Promise.withResolvers polyfilled in the bench processes (Node 20)',
        '@peer/node pairs: one per engine (`transport: { engine }`), default options otherwise',
        `load average (1, 5, 15 min): before ${loadBefore}, after ${await loadAverage()}`,
      ],
    }
  },
}

export default suite

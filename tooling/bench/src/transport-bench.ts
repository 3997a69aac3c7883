// The loopback figures of `pnpm bench transport`: bulk, 64-byte messages, request/response,
// connect, close. Each stack runs in two child processes of its own (server and client), as users
// run one stack per process: the stacks share no process, engine threads or event loop. The client
// child times each run and reports its CPU time; this process adds the server child's. See
// suites/transport.ts.
import { interleaved, median, orderFor, percentile } from './bench-stats.js'
import { emptyStackValues, type Figures, type StackValues } from './transport-figures.js'
import { RUN_TIMEOUT_MS, type StackPair, stackRuns } from './transport-pairs.js'
import { type Endpoints, STACKS, type StackName, workScale } from './transport-stacks.js'

const MiB = 1024 * 1024
/** Generous: a run is seconds at most, but the machine is shared. */
export interface LoopbackOptions {
  pairs: Record<StackName, StackPair>
  endpoints: Endpoints
  quick: boolean
  figures: Figures
  log: (line: string) => void
}

export async function runLoopback(o: LoopbackOptions): Promise<string> {
  const { pairs, endpoints, quick, figures } = o
  const bulkRounds = quick ? 2 : 10
  const rateRounds = quick ? 2 : 6
  const latencyRounds = quick ? 2 : 5
  const bulkBytes = quick ? 16 * MiB : 32 * MiB
  const warmBytes = 4 * MiB
  const count = quick ? 100_000 : 500_000
  const warmMessages = 20_000
  const requests = quick ? 500 : 2_000
  const warmRequests = 200
  const processWarmRequests = quick ? 1_000 : 5_000
  const connects = quick ? 10 : 40

  const { target, onFresh, warm, timed } = stackRuns(pairs, endpoints)

  // ------------------------------------------------------------------ bulk
  const bulkCpu = emptyStackValues()
  // a small heap receiving hundreds of MB/s of fresh buffers either runs on scavenges or falls into
  // a mark-compact every few MB (V8's external-memory heuristic): the receiver's count says which
  const bulkMcs = emptyStackValues()
  const bulkRates = await interleaved(STACKS, bulkRounds, (stack) =>
    onFresh(stack, async () => {
      await warm(stack, 'bulk', warmBytes)
      const bytes = bulkBytes * workScale(stack)
      const mcsBefore = await pairs[stack].server.call<number>('majorGcs')
      const r = await timed(stack, 'bulk', bytes)
      bulkMcs[stack].push((await pairs[stack].server.call<number>('majorGcs')) - mcsBefore)
      bulkCpu[stack].push(r.cpuUs / (bytes / MiB))
      return r.value ?? Number.NaN
    }),
  )
  o.log(
    `bulk, loopback: the server's mark-compacts per run: ${STACKS.map((s) => `${s} ${bulkMcs[s].join(' / ')}`).join(', ')}`,
  )
  figures.add(
    'bulk, loopback',
    'MB/s',
    bulkRates,
    'higher',
    `${bulkBytes / MiB} MiB (quinn and tls stacks: ${(4 * bulkBytes) / MiB} MiB) in 64 KiB messages or writes`,
  )
  figures.add('bulk CPU, loopback', 'us per MiB', bulkCpu, 'lower', 'client + server processes')

  // ------------------------------------------------------------------ 64-byte messages
  const rateCpu = emptyStackValues()
  const rates = await interleaved(STACKS, rateRounds, (stack) =>
    onFresh(stack, async () => {
      await warm(stack, 'messages', warmMessages)
      const n = count * workScale(stack)
      const r = await timed(stack, 'messages', n)
      rateCpu[stack].push(r.cpuUs / (n / 1000))
      return r.value ?? Number.NaN
    }),
  )
  figures.add(
    '64 B messages',
    'msg/s',
    rates,
    'higher',
    `${count.toLocaleString('en-US')} (quinn and tls stacks: ${(4 * count).toLocaleString('en-US')}) x send(64 B) on a channel (coalesced into 64 KiB writes, every message delivered); raw stacks: the same frames hand-batched into 64 KiB writes, the receiver walks the frame headers`,
  )
  figures.add('64 B messages CPU', 'us per 1000', rateCpu, 'lower', 'client + server processes')

  // ------------------------------------------------------------------ request/response
  // once per stack before the rounds: the first few thousand requests of a process run slower
  // code (peer/quinn's p99 was 1.7-1.9 ms in its first two runs of 2,000 and 0.24-0.3 ms after,
  // with the young generation fixed at its full size too), and the rounds measure the steady state
  for (const stack of STACKS) await onFresh(stack, () => warm(stack, 'echo', processWarmRequests))
  const samples: Record<StackName, number[]> = emptyStackValues()
  const p99s = emptyStackValues()
  const p50s = await interleaved(STACKS, latencyRounds, (stack) =>
    onFresh(stack, async () => {
      await warm(stack, 'echo', warmRequests)
      const run = (await timed(stack, 'echo', requests)).samples
      samples[stack].push(...run)
      run.sort((a, b) => a - b)
      p99s[stack].push(percentile(run, 0.99))
      return percentile(run, 0.5)
    }),
  )
  figures.add('request/response p50', 'us', p50s, 'lower', `${requests} sequential 64 B echoes per run`)
  figures.add('request/response p99', 'us', p99s, 'lower', 'per run')

  // ------------------------------------------------------------------ connect
  const connectMs = emptyStackValues()
  for (let i = 0; i < connects; i++) {
    for (const stack of orderFor(STACKS, i)) {
      connectMs[stack].push(
        await pairs[stack].client.call<number>('connectOnce', target(stack), { timeoutMs: RUN_TIMEOUT_MS }),
      )
    }
  }
  // one "round" per 10 dials, so the per-round ratios compare dials made seconds apart
  const perRound = (values: number[]) => {
    const out: number[] = []
    for (let i = 0; i < values.length; i += 10) out.push(median(values.slice(i, i + 10)))
    return out
  }
  const connectRounds = Object.fromEntries(STACKS.map((s) => [s, perRound(connectMs[s])])) as StackValues
  figures.add(
    'connect',
    'ms',
    connectRounds,
    'lower',
    `${connects} dials per stack, interleaved; median per 10 dials`,
  )

  // ------------------------------------------------------------------ close with a stream in use
  // what a node's link close looks like: a stream open and used both ways (a closing side that
  // leaves it open makes the peer wait for quiet before it answers the close)
  const closeMs = emptyStackValues()
  for (let i = 0; i < connects; i++) {
    for (const stack of orderFor(STACKS, i)) {
      // a stream stays open and in use, as a node link's lanes do
      closeMs[stack].push(
        await pairs[stack].client.call<number>('closeInUse', target(stack), { timeoutMs: RUN_TIMEOUT_MS }),
      )
    }
  }
  figures.add(
    'close with a stream in use',
    'ms',
    Object.fromEntries(STACKS.map((s) => [s, perRound(closeMs[s])])) as StackValues,
    'lower',
    `${connects} connections per stack, each with one echo stream open, closed one at a time; median per 10`,
  )

  return `loopback: bulk ${bulkRounds} x ${bulkBytes / MiB} MiB, messages ${rateRounds} x ${count.toLocaleString('en-US')} (x 4 for the quinn and tls stacks), request/response ${latencyRounds} x ${requests} (after ${processWarmRequests.toLocaleString('en-US')} untimed requests per stack), connect ${connects} dials and closes with a stream in use, per stack; every run on a fresh connection warmed up untimed first; rounds interleave the five stacks in rotating orders; each stack's server and client in two processes of their own`
}

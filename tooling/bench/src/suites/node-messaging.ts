// pnpm bench node-messaging (or `pnpm bench node`): @peer/node messaging between two nodes, on
// loopback and through the seeded lossy userland relay (5% loss, 50 ms one-way delay): request
// p50/p99 and messages/s (both nodes in this process), and the latency of a request sent every 20 ms
// on topic `ping` while topic `bulk` carries 1 MB messages back to back. For the ping figures the
// answering node runs in a child process (src/messaging-child.ts), and so does the relay: the node
// that sends the bulk messages and times the pings (here) shares its event loop with neither. Idle
// and bulk rounds are interleaved, and the ratio "during bulk / idle" is the figure the issue targets
// (<= 2x). Each side's event-loop lag during the bulk rounds (how late a 1 ms timer runs: the
// delay monitor's figure minus its interval) says whether a ping waits in JavaScript (a busy loop)
// or below it (the QUIC engine, the path). On loopback a second pair of nodes between the same two
// processes (its own sockets and connection, no bulk on it) is pinged at the same time: what the
// bulk transfer costs a connection that shares nothing with it but the processes and the machine's
// cores, the floor for the bulk connection's own pings. And a third pair in two further child
// processes (they share nothing with the bulk transfer but the machine's cores) is pinged too: what
// the machine alone makes of a ping while the bulk transfer runs, whatever the library's design.
// PEER_BENCH_MESSAGING_PROCESSES=1 adds the old figures with both nodes in this process (the bulk
// receiver's decoding then delays the pings on the same thread).
// PEER_BENCH_MESSAGING_PARTS=requests,loopback,lossy (the default) picks the parts to run.
// PEER_BENCH_MESSAGING_BULK_PAUSE_MS pauses after each bulk message (see BULK_PAUSE_MS).
// PEER_BENCH_MESSAGING_BULK_BYTES sets the size of a bulk message (default 1,000,000).
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { NodeOptions, PeerNode } from '@peer/node'
import {
  type LocalPair,
  lossyTuning,
  type Pair,
  PING_EVERY_MS,
  pair,
  pingLoop,
  processPair,
} from '../messaging-pairs.js'
import type { Measurement, Suite } from '../report.js'

/** The size of a bulk message (PEER_BENCH_MESSAGING_BULK_BYTES, default 1,000,000). */
const BULK_BYTES = Number(process.env.PEER_BENCH_MESSAGING_BULK_BYTES ?? 1_000_000)
if (!Number.isSafeInteger(BULK_BYTES) || BULK_BYTES < 1) {
  throw new Error(`PEER_BENCH_MESSAGING_BULK_BYTES must be a positive integer, got ${BULK_BYTES}`)
}
/**
 * Node options every pair gets: a `maxMessageSize` that fits a bulk message when it is larger than
 * the default 1 MiB (the envelope adds a few dozen bytes).
 */
const SIZE_OPTIONS: Partial<NodeOptions> =
  BULK_BYTES + 1024 > 2 ** 20 ? { maxMessageSize: BULK_BYTES + 1024 } : {}
/**
 * A pause after each bulk message (PEER_BENCH_MESSAGING_BULK_PAUSE_MS, default none): less bulk
 * throughput, so less CPU taken from the pings; tells a ping that waits for a core from one that
 * waits behind the bulk lane.
 */
const BULK_PAUSE_MS = Number(process.env.PEER_BENCH_MESSAGING_BULK_PAUSE_MS ?? 0)
/** The event-loop delay monitor's interval here and in the child (messaging-child.ts). */
const LOOP_SAMPLE_MS = 1

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Sequential small requests: p50 / p99 in ms. */
async function requestLatency(p: LocalPair, n: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await p.a.request(p.b.id, 'echo', i)
    samples.push(performance.now() - t)
  }
  samples.sort((x, y) => x - y)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

/** Small fire-and-forget messages a -> b: messages per second, counted when b handled all. */
async function messageRate(p: LocalPair, n: number): Promise<number> {
  let got = 0
  let done: () => void = () => {}
  const all = new Promise<void>((resolve) => {
    done = resolve
  })
  const off = p.b.handle('rate', () => {
    if (++got === n) done()
  })
  const t = performance.now()
  for (let i = 0; i < n; i++) await p.a.send(p.b.id, 'rate', i)
  await all
  const s = (performance.now() - t) / 1000
  off()
  return n / s
}

/**
 * A request on `ping` every 20 ms for `ms`; with `bulk`, 1 MB messages on `bulk` back to back
 * meanwhile. Latencies of every ping (a failed one counts as its time to failure), and of the
 * pings on the separate pair (when the pair has one), sent half a period after them.
 */
async function pingRound(
  p: Pair,
  ms: number,
  bulk: boolean,
): Promise<{
  samples: number[]
  failed: number
  bulkMessages: number
  separate?: number[]
  apart?: number[]
}> {
  let stop = false
  let bulkMessages = 0
  const payload = new Uint8Array(BULK_BYTES)
  const bulkLoop = (async () => {
    if (!bulk) return
    while (!stop) {
      // priority `bulk` is the lane hint; a node without lanes ignores the option. A failed send
      // ends the round (a loop that swallowed a refusal would spin on promises and starve timers)
      await p.a.send(p.bId, 'bulk', payload, { priority: 'bulk' })
      bulkMessages++
      if (BULK_PAUSE_MS > 0) await new Promise((r) => setTimeout(r, BULK_PAUSE_MS))
    }
  })()
  if (bulk) await new Promise((r) => setTimeout(r, 200)) // let the bulk transfer fill the pipe
  const until = performance.now() + ms
  const own = pingLoop(p.a, p.bId, until)
  const separate =
    p.separate === undefined
      ? undefined
      : new Promise((r) => setTimeout(r, PING_EVERY_MS / 2)).then(() =>
          pingLoop(p.separate!.a, p.separate!.bId, until),
        )
  const apart =
    p.apart === undefined
      ? undefined
      : new Promise((r) => setTimeout(r, PING_EVERY_MS / 4)).then(() =>
          p.apart!.call<number[]>('pingLoop', { ms: until - performance.now() }, { timeoutMs: ms + 60_000 }),
        )
  // a failed bulk send ends the round at once, with its error (the ping loops left running then
  // fail against closed pairs: their rejections are handled here, not reported)
  const failure = new Promise<never>((_, reject) => bulkLoop.catch(reject))
  for (const settled of [failure, own, separate, apart]) settled?.catch(() => {})
  const [{ samples, failed }, other, apartSamples] = await Promise.race([
    Promise.all([own, separate, apart]),
    failure,
  ]).finally(() => {
    stop = true
  })
  await bulkLoop
  return {
    samples,
    failed,
    bulkMessages,
    ...(other ? { separate: other.samples } : {}),
    ...(apartSamples ? { apart: apartSamples } : {}),
  }
}

/** Bulk messages node `a` was told were dropped (accepted by `send`, their connection lost). */
function countDropped(a: PeerNode): () => number {
  let dropped = 0
  a.addEventListener('message:dropped', (e) => {
    if (e.detail.topic === 'bulk') dropped += e.detail.count
  })
  return () => dropped
}

/**
 * Waits until node `b` handled every bulk message sent so far (`sent`), or `a` learned it was
 * dropped: on a lossy path the bulk lane drains for seconds after the round, and the next idle
 * round must not ping across it.
 */
async function drained(p: Pair, sent: number, dropped: () => number): Promise<void> {
  const deadline = performance.now() + 300_000
  while ((await p.bulkReceived()) + dropped() < sent) {
    if (performance.now() > deadline) {
      throw new Error(`${sent} bulk messages sent, ${dropped()} dropped, the rest not all handled in 300 s`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** One way of running the pair: in one or two processes, with extra node options (both nodes). */
interface Variant {
  label: string
  processes: 1 | 2
  options?: Partial<NodeOptions>
}

/**
 * The variants measured: two processes (the figure); with PEER_BENCH_MESSAGING_PROCESSES=1
 * also one process; PEER_BENCH_MESSAGING_OPTIONS='{"name":{...options}}' adds two-process variants
 * with those node options (an A/B comparison in one run).
 */
function variants(): Variant[] {
  const list: Variant[] = [{ label: '', processes: 2 }]
  if (process.env.PEER_BENCH_MESSAGING_PROCESSES?.split(',').includes('1'))
    list.push({ label: 'one process', processes: 1 })
  const extra = process.env.PEER_BENCH_MESSAGING_OPTIONS
  if (extra !== undefined && extra.trim() !== '') {
    for (const [label, options] of Object.entries(JSON.parse(extra) as Record<string, object>))
      list.push({ label, processes: 2, options: options as Partial<NodeOptions> })
  }
  return list
}

interface Tally {
  idle: number[]
  busy: number[]
  /** Pings on the separate pair, idle and during the bulk rounds. */
  separateIdle: number[]
  separateBusy: number[]
  /** Pings on the pair in two further processes, idle and during the bulk rounds. */
  apartIdle: number[]
  apartBusy: number[]
  failed: number
  bulkMessages: number
  /** Event-loop delay of this process (node `a`) during the bulk rounds. */
  loopDelay: ReturnType<typeof monitorEventLoopDelay>
  /** Node `b`'s event-loop delay during the bulk rounds (two-process pairs). */
  bLoopDelay?: { p50: number; p99: number }
}

/**
 * Ping idle and during bulk for every variant, rounds interleaved across the variants
 * (idle A, bulk A, idle B, bulk B, then the next round in reverse order).
 */
async function pingDuringBulk(
  lossy: boolean,
  quick: boolean,
  measurements: Measurement[],
  notes: string[],
): Promise<void> {
  const kinds = variants()
  const pairs: Pair[] = []
  try {
    for (const v of kinds) {
      const options = { ...SIZE_OPTIONS, ...lossyTuning(lossy), ...v.options }
      pairs.push(v.processes === 2 ? await processPair(lossy, options) : await pair(lossy, options))
    }
    const rounds = quick ? 1 : 2
    const roundMs = quick ? 2000 : lossy ? 5000 : 3000
    const droppedOf = pairs.map((p) => countDropped(p.a))
    const tallies: Tally[] = kinds.map(() => ({
      idle: [],
      busy: [],
      separateIdle: [],
      separateBusy: [],
      apartIdle: [],
      apartBusy: [],
      failed: 0,
      bulkMessages: 0,
      loopDelay: monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS }),
    }))
    for (let r = 0; r < rounds; r++) {
      const order = kinds.map((_, i) => i)
      if (r % 2 === 1) order.reverse()
      for (const i of order) {
        const t = tallies[i]!
        const idle = await pingRound(pairs[i]!, roundMs, false)
        t.idle.push(...idle.samples)
        t.separateIdle.push(...(idle.separate ?? []))
        t.apartIdle.push(...(idle.apart ?? []))
        // where a ping may wait: each side's event-loop delay while the bulk transfer runs
        const child = pairs[i]!.child
        await child?.call('loopDelay', { on: true })
        t.loopDelay.enable()
        const b = await pingRound(pairs[i]!, roundMs, true)
        t.loopDelay.disable()
        t.bLoopDelay = await child?.call('loopDelay', { on: false })
        t.busy.push(...b.samples)
        t.separateBusy.push(...(b.separate ?? []))
        t.apartBusy.push(...(b.apart ?? []))
        t.failed += b.failed
        t.bulkMessages += b.bulkMessages
        await drained(pairs[i]!, t.bulkMessages, droppedOf[i]!)
      }
    }
    kinds.forEach((v, i) => {
      const where = [lossy ? 'relay 5% loss 50 ms' : 'loopback', v.label].filter(Boolean).join(', ')
      const {
        idle,
        busy,
        separateIdle,
        separateBusy,
        apartIdle,
        apartBusy,
        failed,
        bulkMessages,
        loopDelay,
        bLoopDelay,
      } = tallies[i]!
      for (const xs of [idle, busy, separateIdle, separateBusy, apartIdle, apartBusy])
        xs.sort((x, y) => x - y)
      measurements.push(
        { name: `ping p50 idle, ${where}`, value: percentile(idle, 50), unit: 'ms' },
        { name: `ping p99 idle, ${where}`, value: percentile(idle, 99), unit: 'ms' },
        {
          name: `ping p50 during bulk, ${where}`,
          value: percentile(busy, 50),
          unit: 'ms',
          baseline: `ping p50 idle, ${where}`,
          target: '<= 2x idle',
        },
        {
          name: `ping p99 during bulk, ${where}`,
          value: percentile(busy, 99),
          unit: 'ms',
          baseline: `ping p99 idle, ${where}`,
        },
        { name: `pings failed during bulk, ${where}`, value: failed, unit: 'requests' },
      )
      if (separateBusy.length > 0) {
        const sep = `${where}, separate connection`
        measurements.push(
          { name: `ping p50 idle, ${sep}`, value: percentile(separateIdle, 50), unit: 'ms' },
          {
            name: `ping p50 during bulk, ${sep}`,
            value: percentile(separateBusy, 50),
            unit: 'ms',
            baseline: `ping p50 idle, ${sep}`,
            notes: 'what the bulk transfer costs a connection that shares only the processes and cores',
          },
          {
            name: `ping p50 during bulk, ${where}, against the separate connection`,
            value: percentile(busy, 50),
            unit: 'ms',
            baseline: `ping p50 during bulk, ${sep}`,
            notes: "the bulk connection's own pings against that floor: 1x is no head-of-line blocking",
          },
        )
      }
      if (apartBusy.length > 0) {
        const other = `${where}, other processes`
        measurements.push(
          { name: `ping p50 idle, ${other}`, value: percentile(apartIdle, 50), unit: 'ms' },
          {
            name: `ping p50 during bulk, ${other}`,
            value: percentile(apartBusy, 50),
            unit: 'ms',
            baseline: `ping p50 idle, ${other}`,
            notes: "a pair sharing only the machine's cores with the bulk transfer: the machine's own figure",
          },
        )
      }
      measurements.push({
        name: `bulk messages dropped, ${where}`,
        value: droppedOf[i]!(),
        unit: 'messages',
        notes: 'accepted by send, their connection lost (message:dropped); 0 on a healthy path',
      })
      measurements.push({
        name: `bulk throughput during pings, ${where}`,
        value: (bulkMessages * BULK_BYTES) / 2 ** 20 / ((rounds * roundMs) / 1000),
        unit: 'MiB/s',
      })
      // monitorEventLoopDelay records the time between its timer's runs, every LOOP_SAMPLE_MS: an
      // idle loop reads about 1.07 ms at p50. What a waiting ping sees is the part beyond that.
      const lag = (ms: number) => Math.max(0, ms - LOOP_SAMPLE_MS)
      const delays: Array<[string, number, number]> = [
        ['sender a', loopDelay.percentile(50) / 1e6, loopDelay.percentile(99) / 1e6],
      ]
      if (bLoopDelay !== undefined) delays.push(['receiver b', bLoopDelay.p50, bLoopDelay.p99])
      for (const [who, p50, p99] of delays) {
        measurements.push(
          { name: `event-loop lag p50 during bulk, ${who}, ${where}`, value: lag(p50), unit: 'ms' },
          { name: `event-loop lag p99 during bulk, ${who}, ${where}`, value: lag(p99), unit: 'ms' },
        )
      }
      notes.push(
        `${where}: ${idle.length} idle and ${busy.length} during-bulk pings over ${rounds} interleaved rounds of ${roundMs} ms; ${bulkMessages} bulk messages of ${BULK_BYTES} bytes; ${v.processes === 2 ? 'node b (and the relay) in child processes' : 'both nodes and the relay in one process'}`,
      )
    })
  } finally {
    await Promise.allSettled(pairs.map((p) => p.close()))
  }
}

const suite: Suite = {
  name: 'node-messaging',
  description: '@peer/node: request latency, message rate, ping during bulk (loopback and lossy relay)',
  async run({ quick }) {
    const measurements: Measurement[] = []
    const notes: string[] = []
    const parts = (process.env.PEER_BENCH_MESSAGING_PARTS ?? 'requests,loopback,lossy').split(',')
    if (parts.includes('requests')) {
      const p = await pair(false)
      try {
        p.b.handle('echo', (x) => x)
        await requestLatency(p, 200) // warm up
        const { p50, p99 } = await requestLatency(p, quick ? 500 : 3000)
        measurements.push(
          { name: 'request p50, loopback', value: p50, unit: 'ms' },
          { name: 'request p99, loopback', value: p99, unit: 'ms' },
          {
            name: 'messages/s, loopback',
            value: await messageRate(p, quick ? 20_000 : 100_000),
            unit: 'msg/s',
          },
        )
      } finally {
        await p.close()
      }
    }
    if (parts.includes('loopback')) await pingDuringBulk(false, quick, measurements, notes)
    if (parts.includes('lossy')) await pingDuringBulk(true, quick, measurements, notes)
    return { suite: 'node-messaging', measurements, notes }
  },
}

export default suite

// pnpm bench dns: DNS SRV discovery against a real dnsmasq on loopback (started by
// @peer/testkit). Measures the time from a record change (SRV added, address changed, SRV
// removed) to the matching event and the DNS queries per minute each watching node sends in steady
// state, each next to a naive node:dns poller measured in the same run (and the record TTL).
import { Resolver } from 'node:dns/promises'
import { loadavg } from 'node:os'
import { DEFAULT_RECORD_LIMITS } from '@peer/discovery-core'
import {
  CachingResolver,
  DnsClient,
  DnsDiscovery,
  type DnsDiscoveryOptions,
  ServiceResolver,
} from '@peer/discovery-dns'
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'
import { testId } from '@peer/testkit/ids'
import type { Measurement, Suite } from '../report.js'

const DOMAIN = 'bench.test'
const SERVICE = `_peer._udp.${DOMAIN}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

function p90(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] ?? Number.NaN
}

function waitForEvent(target: EventTarget, type: string, id: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, on)
      reject(new Error(`bench dns: no ${type} for ${id} within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (e: Event) => {
      if ((e as CustomEvent<{ record: { id: string } }>).detail.record.id !== id) return
      clearTimeout(timer)
      target.removeEventListener(type, on)
      resolve(performance.now())
    }
    target.addEventListener(type, on)
  })
}

const INSTANCES = 10

function seedZone(dnsmasq: DnsmasqServer): Promise<void> {
  return dnsmasq.update((z) => {
    z.srv[SERVICE] = []
    for (let i = 0; i < INSTANCES; i++) {
      const id = testId(`bench-dns-${i}`)
      const target = `${id}.${DOMAIN}` // the id is both the target label and a TXT attribute
      z.srv[SERVICE].push({ target, port: 4000 + i })
      z.txt[target] = [`id=${id}`, `name=n${i}@bench`]
      z.hosts[target] = [`127.0.1.${i + 1}`, `::1:${i + 1}`]
    }
  })
}

/**
 * The baseline: what a hand-written poller does with node:dns (c-ares) and no cache, every TTL:
 * SRV, then TXT, A and AAAA of every target; a change is "seen" when its snapshot differs.
 */
class NaivePoller extends EventTarget {
  queries = 0
  readonly #resolver = new Resolver({ timeout: 500, tries: 1 })
  readonly #intervalMs: number
  #stopped = false
  #loop: Promise<void> | undefined

  constructor(address: string, intervalMs: number) {
    super()
    this.#resolver.setServers([address])
    this.#intervalMs = intervalMs
  }

  async start(): Promise<void> {
    const first = await this.#snapshot()
    this.#loop = this.#run(first ?? new Map())
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#resolver.cancel()
    await this.#loop
  }

  async #ask<T>(query: () => Promise<T>, fallback: T): Promise<T> {
    this.queries++
    return query().catch(() => fallback)
  }

  async #snapshot(): Promise<Map<string, string> | undefined> {
    const r = this.#resolver
    this.queries++
    const srv = await r
      .resolveSrv(SERVICE)
      .catch((e: NodeJS.ErrnoException) => (e.code === 'ENOTFOUND' ? [] : undefined))
    if (srv === undefined) return undefined
    const out = new Map<string, string>()
    await Promise.all(
      srv.map(async ({ name, port }) => {
        const [txt, v4, v6] = await Promise.all([
          this.#ask(() => r.resolveTxt(name), [] as string[][]),
          this.#ask(() => r.resolve4(name), [] as string[]),
          this.#ask(() => r.resolve6(name), [] as string[]),
        ])
        out.set(name.toLowerCase(), JSON.stringify([port, txt.flat(), v4.sort(), v6.sort()]))
      }),
    )
    return out
  }

  async #run(initial: Map<string, string>): Promise<void> {
    let previous = initial
    while (!this.#stopped) {
      await sleep(this.#intervalMs)
      if (this.#stopped) break
      const next = await this.#snapshot()
      if (next === undefined) continue
      const at = performance.now()
      for (const [target, value] of next) {
        const before = previous.get(target)
        if (before === undefined) this.dispatchEvent(new CustomEvent('added', { detail: { target, at } }))
        else if (before !== value) this.dispatchEvent(new CustomEvent('changed', { detail: { target, at } }))
      }
      for (const target of previous.keys()) {
        if (!next.has(target)) this.dispatchEvent(new CustomEvent('removed', { detail: { target, at } }))
      }
      previous = next
    }
  }
}

function waitForNaive(poller: NaivePoller, type: string, target: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      poller.removeEventListener(type, on)
      reject(new Error(`bench dns: the naive poller saw no ${type} for ${target} within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (e: Event) => {
      const detail = (e as CustomEvent<{ target: string; at: number }>).detail
      if (detail.target !== target) return
      clearTimeout(timer)
      poller.removeEventListener(type, on)
      resolve(detail.at)
    }
    poller.addEventListener(type, on)
  })
}

/** The watching nodes' options: short minimum TTL, fast retries. */
function watcherOptions(address: string): DnsDiscoveryOptions {
  return { resolvers: [address], domain: DOMAIN, minTtl: 0.1, maxTtl: 300, retryDelay: 0.2, timeoutMs: 500 }
}

async function measureTtl(ttl: number, quick: boolean, nodes: number): Promise<Measurement[]> {
  const dnsmasq = await startDnsmasq({ domain: DOMAIN, ttl })
  const options = () => watcherOptions(dnsmasq.address)
  const watchers = Array.from({ length: nodes }, () => new DnsDiscovery(options()))
  // a node that takes ids from target labels (as in Kubernetes): no TXT queries at all
  const labelWatcher = new DnsDiscovery({ ...options(), idSource: 'label' })
  const naive = new NaivePoller(dnsmasq.address, ttl * 1000)
  try {
    await seedZone(dnsmasq)
    await Promise.all([...watchers, labelWatcher, naive].map((w) => w.start()))
    const watcher = watchers[0]!
    const rounds = quick ? 3 : 6
    const timeoutMs = ttl * 1000 * 3 + 5000
    const ours = { add: [] as number[], change: [] as number[], remove: [] as number[] }
    const base = { add: [] as number[], change: [] as number[], remove: [] as number[] }
    const step = async (
      kind: 'add' | 'change' | 'remove',
      event: string,
      naiveEvent: string,
      id: string,
      target: string,
      change: Parameters<DnsmasqServer['update']>[0],
    ) => {
      // changes land at a random phase of the poll cycles
      await sleep(Math.random() * ttl * 1000)
      const t0 = performance.now()
      const seen = waitForEvent(watcher, event, id, timeoutMs)
      const naiveSeen = waitForNaive(naive, naiveEvent, target, timeoutMs)
      await dnsmasq.update(change)
      ours[kind].push((await seen) - t0)
      base[kind].push((await naiveSeen) - t0)
    }
    for (let round = 0; round < rounds; round++) {
      const id = testId(`bench-dns-extra-${ttl}-${round}`)
      const target = `${id}.${DOMAIN}`
      await step('add', 'peer:discovered', 'added', id, target, (z) => {
        z.srv[SERVICE]!.push({ target, port: 5000 })
        z.txt[target] = [`id=${id}`]
        z.hosts[target] = ['127.0.2.1']
      })
      await step('change', 'peer:updated', 'changed', id, target, (z) => {
        z.hosts[target] = ['127.0.2.2']
      })
      await step('remove', 'peer:lost', 'removed', id, target, (z) => {
        z.srv[SERVICE] = z.srv[SERVICE]!.filter((s) => s.target !== target)
        delete z.txt[target]
        delete z.hosts[target]
      })
    }

    // steady state: nothing changes; count the queries every node sends
    const windowMs = quick ? Math.max(6000, ttl * 3000) : Math.max(15_000, ttl * 5000)
    const queries = (w: DnsDiscovery) => w.dnsStats.client.udpQueries + w.dnsStats.client.tcpQueries
    const before = watchers.map(queries)
    const labelBefore = queries(labelWatcher)
    const naiveBefore = naive.queries
    await sleep(windowMs)
    const perMinute = (n: number) => n / (windowMs / 60_000)
    const sent = watchers.map((w, i) => queries(w) - before[i]!)
    const perNodePerMinute = perMinute(sent.reduce((a, b) => a + b, 0) / nodes)
    const labelPerMinute = perMinute(queries(labelWatcher) - labelBefore)
    const naivePerMinute = perMinute(naive.queries - naiveBefore)

    const t = `TTL ${ttl} s`
    const naiveName = (what: string) => `${t}: naive node:dns poller every TTL, ${what}`
    const rows: Measurement[] = [{ name: `${t}: record TTL`, value: ttl * 1000, unit: 'ms' }]
    const labels = { add: 'SRV added', change: 'A changed', remove: 'SRV removed' } as const
    const events = { add: 'peer:discovered', change: 'peer:updated', remove: 'peer:lost' } as const
    for (const kind of ['add', 'change', 'remove'] as const) {
      rows.push({
        name: naiveName(`${labels[kind]} -> seen (median)`),
        value: median(base[kind]),
        unit: 'ms',
        baseline: `${t}: record TTL`,
      })
      rows.push({
        name: `${t}: ${labels[kind]} -> ${events[kind]} (median)`,
        value: median(ours[kind]),
        unit: 'ms',
        baseline: naiveName(`${labels[kind]} -> seen (median)`),
        notes: `p90 ${p90(ours[kind]).toFixed(0)} ms, ${rounds} rounds`,
      })
    }
    const all = [...ours.add, ...ours.change, ...ours.remove]
    const allNaive = [...base.add, ...base.change, ...base.remove]
    rows.push({
      name: naiveName('any change -> seen (median of all)'),
      value: median(allNaive),
      unit: 'ms',
      baseline: `${t}: record TTL`,
      notes: `p90 ${p90(allNaive).toFixed(0)} ms`,
    })
    rows.push({
      name: `${t}: any change -> event (median of all)`,
      value: median(all),
      unit: 'ms',
      baseline: naiveName('any change -> seen (median of all)'),
      notes: `${all.length} changes`,
    })
    rows.push({
      name: `${t}: worst change -> event (p90 of all)`,
      value: p90(all),
      unit: 'ms',
      baseline: `${t}: record TTL`,
      target: '<= 1.1x TTL + restart',
    })
    rows.push({
      name: naiveName('queries/min'),
      value: naivePerMinute,
      unit: 'queries/min',
      notes: `1 SRV + TXT, A, AAAA per target (${INSTANCES} targets) per TTL`,
    })
    rows.push({
      name: `${t}: steady-state queries/min per node (${nodes} nodes)`,
      value: perNodePerMinute,
      unit: 'queries/min',
      baseline: naiveName('queries/min'),
      target: '<= 1.0x naive',
    })
    rows.push({
      name: `${t}: steady-state queries/min, ids from target labels (no TXT)`,
      value: labelPerMinute,
      unit: 'queries/min',
      baseline: naiveName('queries/min'),
    })
    return rows
  } finally {
    await Promise.all([...watchers, labelWatcher, naive].map((w) => w.stop()))
    await dnsmasq.stop()
  }
}

const POLL_TARGETS = 60
const POLL_DOMAIN = 'poll.test'
const POLL_SERVICE = `_peer._udp.${POLL_DOMAIN}`

/**
 * Per-query cost: one full resolution of a 60-target service with an empty cache (SRV, then TXT
 * and A/AAAA of every target) by the backend's resolver stack, against node:dns (c-ares) asking
 * the same questions of the same dnsmasq, interleaved round by round (the order alternates).
 */
async function measurePoll(quick: boolean): Promise<Measurement[]> {
  const zone = { srv: { [POLL_SERVICE]: [] as Array<{ target: string; port: number }> }, txt: {}, hosts: {} }
  for (let i = 0; i < POLL_TARGETS; i++) {
    const id = testId(`bench-poll-${i}`)
    const target = `${id}.${POLL_DOMAIN}`
    zone.srv[POLL_SERVICE].push({ target, port: 4000 + i })
    ;(zone.txt as Record<string, string[]>)[target] = [`id=${id}`, `name=n${i}@poll`]
    ;(zone.hosts as Record<string, string[]>)[target] = [`127.0.3.${i + 1}`, `::3:${i + 1}`]
  }
  const dnsmasq = await startDnsmasq({ domain: POLL_DOMAIN, ttl: 300, zone })
  // one client for the whole run, as in a running node; a fresh cache per poll
  const client = new DnsClient({ resolvers: [dnsmasq.address], timeoutMs: 2000 })
  const ours = async (): Promise<number> => {
    const cache = new CachingResolver(client, { minTtl: 1, maxTtl: 300, negativeTtl: 5, maxNegativeTtl: 60 })
    const resolver = new ServiceResolver(cache, {
      idSource: 'txt-or-label',
      families: [4, 6],
      txtLimits: DEFAULT_RECORD_LIMITS,
      maxAddresses: DEFAULT_RECORD_LIMITS.maxAddresses,
      maxSrvRecords: 1000,
      concurrency: 32, // the backend's default
      seed: 1,
    })
    const t0 = performance.now()
    const answer = await resolver.resolveService(POLL_SERVICE)
    const ms = performance.now() - t0
    if (answer.kind !== 'present' || answer.candidates.length !== POLL_TARGETS)
      throw new Error(
        `bench dns: the backend found ${answer.kind === 'present' ? answer.candidates.length : 0} peers`,
      )
    return ms
  }
  const node = new Resolver({ timeout: 2000, tries: 1 })
  node.setServers([dnsmasq.address])
  const baseline = async (): Promise<number> => {
    const t0 = performance.now()
    const srv = await node.resolveSrv(POLL_SERVICE)
    await Promise.all(
      srv.map(({ name }) => Promise.all([node.resolveTxt(name), node.resolve4(name), node.resolve6(name)])),
    )
    const ms = performance.now() - t0
    if (srv.length !== POLL_TARGETS) throw new Error(`bench dns: node:dns found ${srv.length} targets`)
    return ms
  }
  try {
    await ours()
    await baseline() // warm both up
    const rounds = quick ? 15 : 40
    const a: number[] = []
    const b: number[] = []
    const loadBefore = loadavg()[0]!
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        a.push(await ours())
        b.push(await baseline())
      } else {
        b.push(await baseline())
        a.push(await ours())
      }
    }
    const load = `load average ${loadBefore.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`
    const baseName = `${POLL_TARGETS}-target poll: node:dns (SRV + TXT, A, AAAA per target, all at once) (median)`
    const stats = client.stats
    return [
      { name: baseName, value: median(b), unit: 'ms', notes: `p90 ${p90(b).toFixed(1)} ms; ${load}` },
      {
        name: `${POLL_TARGETS}-target poll: backend resolver, empty cache (median)`,
        value: median(a),
        unit: 'ms',
        baseline: baseName,
        target: '<= 2x node:dns',
        notes: `p90 ${p90(a).toFixed(1)} ms; ${rounds} interleaved rounds; client totals: ${stats.udpQueries} UDP + ${stats.tcpQueries} TCP queries${'udpSockets' in stats ? `, ${String((stats as { udpSockets?: number }).udpSockets)} UDP sockets` : ''}`,
      },
    ]
  } finally {
    node.cancel()
    await dnsmasq.stop()
  }
}

/**
 * Recovery after an outage: dnsmasq is stopped for `outageMs` (every query times out), then
 * started again. Measured: stop -> peer:lost (stale) against `staleAfter`, and restart ->
 * peer:discovered against the record TTL.
 */
async function measureOutage(quick: boolean): Promise<Measurement[]> {
  const ttl = 1
  const staleAfter = 5
  const outageMs = quick ? 20_000 : 70_000
  const dnsmasq = await startDnsmasq({ domain: DOMAIN, ttl })
  const watcher = new DnsDiscovery({ ...watcherOptions(dnsmasq.address), attempts: 1, staleAfter })
  try {
    await seedZone(dnsmasq)
    await watcher.start()
    const id = testId('bench-dns-0')
    if (!(await watcher.list()).some((r) => r.id === id)) throw new Error('bench dns: peer not found')
    const lost = waitForEvent(watcher, 'peer:lost', id, outageMs)
    const t0 = performance.now()
    await dnsmasq.pause()
    const lostAt = await lost
    await sleep(Math.max(0, outageMs - (performance.now() - t0)))
    const back = waitForEvent(watcher, 'peer:discovered', id, 300_000)
    const t1 = performance.now()
    await dnsmasq.resume()
    const backAt = await back
    const name = (what: string) => `outage ${outageMs / 1000} s, TTL ${ttl} s: ${what}`
    return [
      { name: name('staleAfter'), value: staleAfter * 1000, unit: 'ms' },
      {
        name: name('server stopped -> peer:lost (stale)'),
        value: lostAt - t0,
        unit: 'ms',
        baseline: name('staleAfter'),
        target: '<= 1.0x staleAfter',
        notes: 'last good answer up to one TTL before the stop',
      },
      { name: name('record TTL'), value: ttl * 1000, unit: 'ms' },
      {
        name: name('server back -> peer:discovered'),
        value: backAt - t1,
        unit: 'ms',
        baseline: name('record TTL'),
        target: '<= 1 TTL + restart',
        notes: `retryDelay 0.2 s, maxTtl 300 s, timeoutMs 500, ${watcher.dnsStats.failedPolls} failed polls; load average ${loadavg()[0]!.toFixed(2)}`,
      },
    ]
  } finally {
    await watcher.stop()
    await dnsmasq.stop()
  }
}

const suite: Suite = {
  name: 'dns',
  description:
    'DNS SRV discovery on a real dnsmasq: time from a record change to the event and queries per minute per node, vs a naive node:dns poller and the record TTL',
  async run({ quick }) {
    const measurements: Measurement[] = await measurePoll(quick)
    measurements.push(...(await measureOutage(quick)))
    // PEER_BENCH_DNS=cost: only the per-query cost and outage figures (skips the change-latency rounds)
    if (process.env.PEER_BENCH_DNS === 'cost') return { suite: 'dns', measurements }
    const ttls = quick ? [1] : [1, 3]
    for (const ttl of ttls) measurements.push(...(await measureTtl(ttl, quick, 3)))
    return {
      suite: 'dns',
      measurements,
      notes: [
        `Per-query cost: a ${POLL_TARGETS}-target service (TXT id and A+AAAA per target) resolved with an empty cache by the backend's CachingResolver + ServiceResolver over one long-lived DnsClient, and by node:dns (c-ares) asking SRV then TXT, A and AAAA of every target all at once; the two alternate round by round against the same dnsmasq. The ratio is in the "vs baseline" column; the load average is in the notes (2 shared cores).`,
        'Outage: dnsmasq stopped, then started again on the same port; the backend retries with retryDelay 0.2 s, capped by default at the last good TTL (maxRetryDelayMs), and loses peers at staleAfter by a timer.',
        `dnsmasq --local-ttl=<TTL>, ${INSTANCES} SRV instances with TXT id/name and A+AAAA each; 3 watching nodes; minTtl 0.1 s, jitter 0.1.`,
        'Each change lands at a random phase of the poll cycles, so single-kind medians over a few rounds are noisy; compare the medians of all changes.',
        'Baseline: a naive poller measured in the same run against the same dnsmasq: node:dns (c-ares) asking SRV, then TXT, A and AAAA of every target, every TTL, with no cache. A change is seen by either within one TTL (plus up to 10 % jitter for the backend): about 0.5x TTL on average.',
        'SRV changes restart dnsmasq (it cannot reload SRV records); the restart (~20 ms) is inside the measured time.',
        "Queries/min: every answer is refreshed once per TTL at most (all answers of one poll together). dnsmasq puts the targets' A/AAAA records in the additional section of the SRV answer and the backend caches them instead of asking; with 10 targets named by 52-character ids the answer fills the 1232-byte EDNS buffer, so some address records are left out and asked for. Ids from target labels save the TXT queries. Jitter (up to +10 %) lengthens each cycle.",
      ],
    }
  },
}

export default suite

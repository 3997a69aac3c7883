// pnpm bench cluster: N nodes in P = N / 10 processes (src/cluster-child.ts) on this machine, on
// loopback QUIC, with static and etcd discovery, per connection policy. Figures per cluster: time
// until every node knows every member (and, for `mesh`, is connected to every member) after the
// last node started; time until a request from each node to 5 random members is answered (twice:
// the second round runs on connections the first one used); connections open; RSS per node; idle
// CPU of the whole cluster (from /proc/<pid>/stat of every child, and of etcd); registry dials and
// dial failures (what explains a failed first request); after a kill -9 of one process, `peer:down`
// latency on every connection to its nodes (every pair with `mesh`, only the pairs the requests
// connected with `on-demand`) and `member:left` latency on every other node (etcd: static discovery
// never drops a member), separately for the connections nothing is sent on after the kill and for
// those of every other node, which each send one request (timeout 1 s) to the killed node right
// after the kill (what makes `@peer/node` probe the peer); time to stop the rest.
//
// Sizes, backends and policies come from the environment (the full set is heavy on 2 cores):
//   PEER_BENCH_CLUSTER_SIZES=20,50,100   (default 20,50; --quick: 20)
//   PEER_BENCH_CLUSTER_BACKENDS=static,etcd
//   PEER_BENCH_CLUSTER_POLICIES=mesh,on-demand
// Rows are merged into docs/bench/cluster.json and docs/bench/cluster.svg is redrawn from them.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { freePorts } from '@peer/testkit/ports'
import { percentile, watchdog } from '../bench-stats.js'
import type { Backend, ClusterMember, DialStats, FormedNode, Policy } from '../cluster-child.js'
import { type ClusterRow, mergeRows, rowsTable, writeSvg } from '../cluster-plot.js'
import type { Measurement, Suite } from '../report.js'

const CHILD = fileURLToPath(new URL('../cluster-child.ts', import.meta.url))
const NODES_PER_PROCESS = 10
const REQUEST_TARGETS = 5
const IDLE_MS = 10_000
/** How long the stopped processes are metered after the stop. */
const AFTER_STOP_MS = 1000
const ETCD_TTL_S = 10
const FORM_TIMEOUT_MS = 240_000
const DOWN_TIMEOUT_MS = 120_000
/** Timeout of the request each `used` connection sends to the killed node. */
const USE_TIMEOUT_MS = 1000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.timeOrigin + performance.now()
const load1 = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU of each of `pids` over `ms` from now, % of one core (0 for one that is gone). */
async function meterCpu(pids: ReadonlyArray<number | undefined>, ms: number): Promise<number[]> {
  const before = pids.map(cpuSeconds)
  const t0 = performance.now()
  await sleep(ms)
  const seconds = (performance.now() - t0) / 1000
  return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / seconds) * 100)
}

/** utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat), 0 when it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces: split after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return 0
  }
}

const orNull = (v: number) => (Number.isFinite(v) ? v : null)

const list = (env: string | undefined, fallback: string[]) =>
  env === undefined || env.trim() === '' ? fallback : env.split(',').map((s) => s.trim())

function pickTargets(members: ClusterMember[], self: string, count: number): string[] {
  const others = members.filter((m) => m.id !== self)
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[others[i], others[j]] = [others[j]!, others[i]!]
  }
  return others.slice(0, count).map((m) => m.id)
}

async function runCluster(
  size: number,
  backend: Backend,
  policy: Policy,
  etcd: EtcdCluster | undefined,
  requestErrors: string[],
): Promise<ClusterRow> {
  const processes = Math.max(1, Math.round(size / NODES_PER_PROCESS))
  const perProcess = Math.ceil(size / processes)
  const loadBefore = load1()
  const children: RpcChild[] = []
  try {
    children.push(
      ...(await Promise.all(
        Array.from({ length: processes }, () => spawnChild(CHILD, { readyTimeoutMs: 60_000 })),
      )),
    )
    const groups = await Promise.all(
      children.map((c, i) =>
        c.call<string[]>(
          'identities',
          { count: Math.min(perProcess, size - i * perProcess) },
          { timeoutMs: 60_000 },
        ),
      ),
    )
    const ports = await freePorts(size, { protocols: ['udp'] })
    const members: ClusterMember[] = groups
      .flat()
      .map((id, i) => ({ id, name: `n${i}@bench`, port: ports[i]! }))
    const rssBefore = await Promise.all(children.map((c) => c.call<number>('rss')))
    const etcdParams =
      etcd === undefined
        ? undefined
        : {
            endpoints: etcd.endpoints,
            prefix: `/bench-cluster-${process.pid}-${Date.now()}`,
            ttl: ETCD_TTL_S,
          }
    const firstStart = now()
    const started = await Promise.all(
      children.map((c) =>
        c.call<number>('start', { members, backend, policy, etcd: etcdParams }, { timeoutMs: 300_000 }),
      ),
    )
    const lastStart = Math.max(...started)
    // a child too starved to answer in time counts as not formed (its nodes are left out)
    const formed = (
      await Promise.all(
        children.map((c) =>
          c
            .call<FormedNode[]>(
              'formed',
              { policy, timeoutMs: FORM_TIMEOUT_MS },
              { timeoutMs: FORM_TIMEOUT_MS + 120_000 },
            )
            .catch(() => [] as FormedNode[]),
        ),
      )
    ).flat()
    // NaN (and so `null` in the row) when some node never got there within FORM_TIMEOUT_MS
    const membersAt = formed.length < size ? Number.NaN : Math.max(...formed.map((f) => f.membersAt))
    const connectedAt =
      policy !== 'mesh'
        ? null
        : formed.length < size
          ? Number.NaN
          : Math.max(...formed.map((f) => f.connectedAt ?? Number.NaN))
    const formedNodes = formed.filter(
      (f) => !Number.isNaN(f.membersAt) && (policy !== 'mesh' || f.connectedAt !== undefined),
    ).length

    // requests: every node to 5 random members, all at once; then the same again
    const targets = Object.fromEntries(
      members.map((m) => [m.id, pickTargets(members, m.id, REQUEST_TARGETS)]),
    )
    const round = async () => {
      const t0 = performance.now()
      const results = await Promise.all(
        children.map((c) =>
          c.call<{ latencies: number[]; failed: number; errors: string[] }>(
            'requests',
            { targets, timeoutMs: 60_000 },
            { timeoutMs: 90_000 },
          ),
        ),
      )
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
      const failed = results.reduce((sum, r) => sum + r.failed, 0)
      // why requests failed, so a failure in a run can be told from a slow machine
      for (const message of results.flatMap((r) => r.errors)) {
        requestErrors.push(`${policy} ${backend} ${size}: ${message}`)
        console.error(`  request failed: ${message}`)
      }
      return { wallMs: performance.now() - t0, latencies, failed }
    }
    // one first use without a storm: node 0 requests members of the last process in turn (none
    // of them among its storm targets), twice each
    const lone = members[0]!
    const loneTargets = members
      .slice(-perProcess)
      .map((m) => m.id)
      .filter((id) => id !== lone.id && !targets[lone.id]!.includes(id))
      .slice(0, REQUEST_TARGETS)
    const single = await children[0]!.call<{ first: number[]; again: number[] }>(
      'single',
      { from: lone.id, targets: loneTargets, timeoutMs: 60_000 },
      { timeoutMs: 90_000 },
    )
    const first = await round()
    const second = await round()
    const dials = (await Promise.all(children.map((c) => c.call<DialStats>('dialStats')))).reduce(
      (sum, d) => ({
        dials: sum.dials + d.dials,
        dialFailures: sum.dialFailures + d.dialFailures,
        dialTimeouts: sum.dialTimeouts + d.dialTimeouts,
      }),
      { dials: 0, dialFailures: 0, dialTimeouts: 0 },
    )
    const connections =
      (await Promise.all(children.map((c) => c.call<number>('connections')))).reduce((a, b) => a + b, 0) / 2
    const rssAfter = await Promise.all(children.map((c) => c.call<number>('rss')))
    const rssPerNodeMiB = rssAfter.reduce((sum, r, i) => sum + (r - rssBefore[i]!), 0) / size / (1024 * 1024)

    // idle CPU: let the requests' work settle, then meter every process over IDLE_MS
    await sleep(2000)
    const [etcdPct = 0, ...childPcts] = await meterCpu(
      [etcd?.members[0]?.pid, ...children.map((c) => c.pid)],
      IDLE_MS,
    )
    const idleCpuPct = childPcts.reduce((a, b) => a + b, 0)
    const etcdCpuPct = etcd === undefined ? null : etcdPct

    // kill -9 of the last process: how long until every connection to its nodes is reported down
    // (`peer:down` on the survivors' side: every pair with `mesh`, with `on-demand` only the pairs
    // connected now), and every other node reports them gone (`member:left`, from discovery: etcd
    // only, static discovery never drops a member). Every other survivor node sends a request on
    // each of its connections to the killed nodes right after the kill (`used`), the others send
    // nothing (`idle`): two figures, with and without a request that times out
    const victim = children[children.length - 1]!
    const victimIds = new Set(groups[groups.length - 1]!)
    const survivors = children.slice(0, -1)
    const survivorNodes = size - victimIds.size
    const watched = await Promise.all(
      survivors.map((c) => c.call<{ idle: number; used: number }>('watchDown', { ids: [...victimIds] })),
    )
    const downPairs = watched.reduce((sum, w) => sum + w.idle, 0)
    const usedPairs = watched.reduce((sum, w) => sum + w.used, 0)
    const killedAt = now()
    await victim.crash()
    children.pop()
    await Promise.all(survivors.map((c) => c.call<number>('useDown', { timeoutMs: USE_TIMEOUT_MS })))
    const expectedLost = backend === 'etcd' ? survivorNodes * victimIds.size : 0
    type Downs = {
      down: Record<string, number[]>
      usedDown: Record<string, number[]>
      lost: Record<string, number[]>
    }
    let peerDownMs: number | null = null
    let usedPeerDownMs: number | null = null
    let memberLeftMs: number | null = null
    const deadline = Date.now() + DOWN_TIMEOUT_MS
    while (
      Date.now() < deadline &&
      ((downPairs > 0 && peerDownMs === null) ||
        (usedPairs > 0 && usedPeerDownMs === null) ||
        (expectedLost > 0 && memberLeftMs === null))
    ) {
      await sleep(250)
      const all = await Promise.all(survivors.map((c) => c.call<Downs>('downs')))
      const downs = all.flatMap((d) => Object.values(d.down).flat())
      const usedDowns = all.flatMap((d) => Object.values(d.usedDown).flat())
      const lost = all.flatMap((d) => Object.values(d.lost).flat())
      if (peerDownMs === null && downPairs > 0 && downs.length >= downPairs)
        peerDownMs = Math.max(...downs) - killedAt
      if (usedPeerDownMs === null && usedPairs > 0 && usedDowns.length >= usedPairs)
        usedPeerDownMs = Math.max(...usedDowns) - killedAt
      if (memberLeftMs === null && expectedLost > 0 && lost.length >= expectedLost)
        memberLeftMs = Math.max(...lost) - killedAt
    }

    const stopT0 = performance.now()
    await Promise.all(survivors.map((c) => c.call<number>('stop', undefined, { timeoutMs: 60_000 })))
    const stopMs = performance.now() - stopT0
    // what the stopped nodes' processes still burn: a stop that leaves a loop running shows here
    // (a message channel's flush loop once re-armed itself on every turn after its node stopped).
    // Twice: the first second holds the teardown (the engines' endpoints drain for up to their
    // 1 s shutdown timeout, collected connections are freed), the later one only what never ends
    const pids = survivors.map((c) => c.pid)
    const sum = (pcts: number[]) => pcts.reduce((a, b) => a + b, 0)
    await sleep(500)
    const cpuAfterStopPct = sum(await meterCpu(pids, AFTER_STOP_MS))
    await sleep(500)
    const cpuLaterAfterStopPct = sum(await meterCpu(pids, AFTER_STOP_MS))
    return {
      policy,
      backend,
      nodes: size,
      processes,
      formedNodes,
      membersMs: orNull(Math.max(0, membersAt - lastStart)),
      connectedMs: connectedAt === null ? null : orNull(Math.max(0, connectedAt - lastStart)),
      formMs: orNull(Math.max(membersAt, connectedAt ?? 0) - firstStart),
      requestFailures: first.failed + second.failed,
      ...dials,
      requestsMs: first.wallMs,
      requestP50Ms: percentile(first.latencies, 0.5),
      requestP99Ms: percentile(first.latencies, 0.99),
      secondRequestsMs: second.wallMs,
      secondRequestP50Ms: percentile(second.latencies, 0.5),
      singleFirstP50Ms: percentile(
        [...single.first].sort((a, b) => a - b),
        0.5,
      ),
      singleAgainP50Ms: percentile(
        [...single.again].sort((a, b) => a - b),
        0.5,
      ),
      connections,
      rssPerNodeMiB,
      idleCpuPct,
      etcdCpuPct,
      downPairs,
      peerDownMs,
      usedPairs,
      usedPeerDownMs,
      memberLeftMs,
      stopMs,
      cpuAfterStopPct,
      cpuLaterAfterStopPct,
      loadBefore,
      loadAfter: load1(),
      date: new Date().toISOString(),
    }
  } finally {
    await Promise.allSettled(children.map((c) => c.close(15_000)))
  }
}

const suite: Suite = {
  name: 'cluster',
  description:
    'N nodes in N/10 processes: membership, first requests, connections, RSS, idle CPU, kill -9, stop',
  async run({ quick }) {
    const sizes = list(process.env.PEER_BENCH_CLUSTER_SIZES, quick ? ['20'] : ['20', '50']).map(Number)
    const backends = list(process.env.PEER_BENCH_CLUSTER_BACKENDS, ['static', 'etcd']) as Backend[]
    const policies = list(process.env.PEER_BENCH_CLUSTER_POLICIES, ['mesh', 'on-demand']) as Policy[]
    for (const s of sizes) if (!(Number.isInteger(s) && s >= 2)) throw new Error(`bad cluster size ${s}`)
    const etcd = backends.includes('etcd') ? await startEtcd() : undefined
    const rows: ClusterRow[] = []
    const failures: string[] = []
    const requestErrors: string[] = []
    const measurements: Measurement[] = []
    try {
      for (const size of sizes) {
        for (const policy of policies) {
          for (const backend of backends) {
            console.error(`cluster: ${size} nodes, ${policy}, ${backend} (load ${load1()})`)
            let row: ClusterRow
            try {
              row = await watchdog(
                runCluster(size, backend, policy, backend === 'etcd' ? etcd : undefined, requestErrors),
                900_000,
                `cluster ${size} ${policy} ${backend}`,
              )
            } catch (error) {
              // one cluster that does not form under load must not lose the others' rows
              failures.push(
                `${size} nodes, ${policy}, ${backend}: ${(error as Error).message.split('\n')[0]} (load ${load1()})`,
              )
              console.error(`cluster: ${failures.at(-1)}`)
              continue
            }
            rows.push(row)
            mergeRows([row])
            console.error(rowsTable([row]))
            const tag = `${policy} ${backend} ${size}`
            measurements.push(
              {
                name: `${tag}: members known after last start`,
                value: row.membersMs ?? Number.NaN,
                unit: 'ms',
                ...(size === 100 ? { target: '<= 2000' } : {}),
              },
              {
                name: `${tag}: 2nd request p50 (open connection)`,
                value: row.secondRequestP50Ms,
                unit: 'ms',
              },
              {
                name: `${tag}: 1st request p50`,
                value: row.requestP50Ms,
                unit: 'ms',
                baseline: `${tag}: 2nd request p50 (open connection)`,
                ...(size === 100 ? { target: '<= 3x' } : {}),
              },
              {
                name: `${tag}: one node alone, 2nd request p50`,
                value: row.singleAgainP50Ms ?? Number.NaN,
                unit: 'ms',
              },
              {
                name: `${tag}: one node alone, 1st request p50 (no storm)`,
                value: row.singleFirstP50Ms ?? Number.NaN,
                unit: 'ms',
                baseline: `${tag}: one node alone, 2nd request p50`,
              },
              {
                name: `${tag}: idle CPU, whole cluster`,
                value: row.idleCpuPct,
                unit: '% core',
                ...(size === 100 ? { target: '<= 10' } : {}),
              },
              {
                name: `${tag}: peer:down after kill -9, idle connections`,
                value: row.peerDownMs ?? Number.NaN,
                unit: 'ms',
              },
              {
                name: `${tag}: peer:down after kill -9 + a request (timeout ${USE_TIMEOUT_MS} ms)`,
                value: row.usedPeerDownMs ?? Number.NaN,
                unit: 'ms',
              },
              {
                name: `${tag}: stop`,
                value: row.stopMs,
                unit: 'ms',
                ...(size === 100 ? { target: '<= 5000' } : {}),
              },
              {
                name: `${tag}: CPU after stop, every process (${AFTER_STOP_MS / 1000} s, from 0.5 s after)`,
                value: row.cpuAfterStopPct ?? Number.NaN,
                unit: '% core',
              },
              {
                name: `${tag}: CPU later after stop, every process (${AFTER_STOP_MS / 1000} s, from 2 s after)`,
                value: row.cpuLaterAfterStopPct ?? Number.NaN,
                unit: '% core',
              },
            )
          }
        }
      }
    } finally {
      await etcd?.close()
    }
    const svg = writeSvg(mergeRows([]))
    return {
      suite: 'cluster',
      measurements,
      tables: [rowsTable(rows)],
      notes: [
        `${NODES_PER_PROCESS} nodes per process; requests: every node to ${REQUEST_TARGETS} random members at once; after the kill, every other node sends one request (timeout ${USE_TIMEOUT_MS} ms) on each of its connections to the killed nodes; idle CPU over ${IDLE_MS / 1000} s from /proc/<pid>/stat (CLK_TCK ${CLK_TCK}); etcd lease TTL ${ETCD_TTL_S} s; default transport tuning (keepalive 5 s, idle timeout 30 s)`,
        `merged into docs/bench/cluster.json; plot: ${svg}`,
        ...failures.map((f) => `FAILED: ${f}`),
        ...requestErrors.map((e) => `request failed: ${e}`),
      ],
    }
  },
}

export default suite

// pnpm bench cluster-churn: N nodes in P = N / 10 processes (src/cluster-child.ts) on loopback
// QUIC with static discovery, a full mesh (or `on-demand` connections), under the churn real
// clusters see:
// - dead listed: every static list names the N nodes, but a share of the processes never starts
//   (their ports are UDP sockets of this process that never answer: a dial to one waits for its
//   time limit). The time from the last start until every pair of live nodes is connected, against
//   the same live nodes whose lists name only them; rounds alternate the two.
// - rolling restart: each process in turn is stopped, gracefully (`stop()`: its peers hear
//   `shutdown`) or with kill -9 (its peers hear nothing), and started again in a new process with
//   the same identities and ports. The time from the stop until every node of the other processes
//   has a request to each restarted node answered, and (mesh) until every pair of the N is
//   connected again, against the time the whole cluster took to form.
// During the restarts every node sends, every 250 ms (timeout 2 s), a request to a random member
// and one to a service every node provides (`request({ service })`, which fails over to another
// provider): the requests of the nodes not restarted that failed, by kind and error, are figures.
// The load average is recorded around every phase.
//   PEER_BENCH_CHURN_SIZE=50   (default 50; --quick: 20)
//   PEER_BENCH_CHURN_DEAD=2    processes that never start in the dead-listed rounds (default P / 5)
//   PEER_BENCH_CHURN_BACKEND=etcd   the restarts with etcd discovery instead (no dead-listed rounds)
//   PEER_BENCH_CHURN_POLICY=on-demand   connections on first use (no dead-listed rounds: nothing is
//                                       dialed until used)
//   PEER_BENCH_CHURN_TIMEOUT_MS=10000   the traffic's request timeout (default 2,000; the node's own
//                                       default is 10,000)
//   PEER_BENCH_CHURN_FREEZE_MS=5000     how long each process is frozen (SIGSTOP, then SIGCONT) in the
//                                       freeze rounds (default 5,000)
//   PEER_BENCH_CHURN_ROUNDS=freeze      which rolling rounds run, of graceful,kill,freeze (default all)
// - freeze: each process in turn is stopped with SIGSTOP (a VM paused, a process stuck: its peers
//   hear nothing and it answers nothing, not even QUIC's acknowledgements) and resumed with SIGCONT
//   after PEER_BENCH_CHURN_FREEZE_MS. The time from the resume until every node of the others had a
//   request to each of its nodes answered; the traffic's failures, as for the restarts.
import { createHash } from 'node:crypto'
import type { Socket } from 'node:dgram'
import { fileURLToPath } from 'node:url'
import { encodeBase32 } from '@peer/discovery-core'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { type EtcdCluster, startEtcd } from '@peer/testkit/etcd'
import { freePorts } from '@peer/testkit/ports'
import { silentUdpSocket } from '@peer/testkit/silent-udp'
import { waitFor } from '@peer/testkit/wait'
import { kernelReceiveBuffers } from '@peer/transport-quic/internal'
import { addCounts, fmtCounts, fmtList, load1m as load, p50, watchdog } from '../bench-stats.js'
import type { Backend, ClusterMember, Counters, LoadCounts, Pem, Policy } from '../cluster-child.js'
import type { Measurement, Suite } from '../report.js'

const CHILD = fileURLToPath(new URL('../cluster-child.ts', import.meta.url))
const NODES_PER_PROCESS = 10
/** Steady traffic during the restarts: every node sends a request to a random member this often. */
const TRAFFIC_INTERVAL_MS = 250
/** The timeout of those requests (`PEER_BENCH_CHURN_TIMEOUT_MS`). */
const TRAFFIC_TIMEOUT_MS = 2000
/** How long a mesh may take to (re)form before the round counts as failed. */
const FORM_TIMEOUT_MS = 300_000
/** The service every node provides, for the traffic through `request({ service })`. */
const SERVICE = 'churn'

const now = () => performance.timeOrigin + performance.now()

/** A group of nodes in one process: the process, and the identities it runs. */
interface Group {
  child: RpcChild
  pems: Pem[]
  members: ClusterMember[]
}

/** Spawns a process holding `pems` (or `count` fresh identities); resolves with its key pairs and ids. */
async function spawnGroup(
  source: { pems: Pem[] } | { count: number },
): Promise<{ child: RpcChild; pems: Pem[]; ids: string[] }> {
  const child = await spawnChild(CHILD, { readyTimeoutMs: 60_000 })
  const params = 'pems' in source ? { count: 0, pems: source.pems } : { count: source.count }
  const ids = await child.call<string[]>('identities', params, { timeoutMs: 60_000 })
  return { child, pems: await child.call<Pem[]>('pems'), ids }
}

/** Where the nodes find each other (static lists naming `members`, or etcd) and how they connect. */
interface Found {
  backend: Backend
  etcd?: { endpoints: string[]; prefix: string; ttl: number } | undefined
  policy: Policy
}

/** Starts every node of `groups`, `members` being the whole cluster; resolves with the last start time. */
async function startGroups(
  groups: readonly { child: RpcChild }[],
  members: ClusterMember[],
  found: Found = { backend: 'static', policy: 'mesh' },
): Promise<number> {
  const started = await Promise.all(
    groups.map((g) =>
      g.child.call<number>('start', { members, ...found, service: SERVICE }, { timeoutMs: FORM_TIMEOUT_MS }),
    ),
  )
  return Math.max(...started)
}

/** Waits until the nodes of `groups` have `pairs` connections up between them (each counted on both ends). */
async function meshed(groups: readonly { child: RpcChild }[], pairs: number): Promise<number> {
  await waitFor(
    async () => {
      const counts = await Promise.all(groups.map((g) => g.child.call<number>('connections')))
      return counts.reduce((a, b) => a + b, 0) >= 2 * pairs
    },
    { timeoutMs: FORM_TIMEOUT_MS, intervalMs: 100, what: `${pairs} connections` },
  )
  return now()
}

const pairsOf = (n: number) => (n * (n - 1)) / 2

/** The counters of `groups`, summed. */
async function countersOf(groups: readonly { child: RpcChild }[]): Promise<Counters> {
  const all = await Promise.all(groups.map((g) => g.child.call<Counters>('counters')))
  const sum = { ...all[0]! }
  for (const c of all.slice(1)) for (const k of Object.keys(sum) as (keyof Counters)[]) sum[k] += c[k]
  return sum
}

/** The counters that moved from `before` to `after`: `stalls 3, probes 2`, or `none`. */
function fmtDelta(before: Counters, after: Counters): string {
  const moved = (Object.keys(after) as (keyof Counters)[])
    .map((k) => [k, after[k] - before[k]] as const)
    .filter(([, d]) => d !== 0)
  return moved.length === 0 ? 'none' : moved.map(([k, d]) => `${k} ${d}`).join(', ')
}

/**
 * When every node of `groups` had a request to each of `targets` answered (retrying failures); the
 * failures on the way are added to `failures` (by error name and reason).
 */
async function reached(
  groups: readonly { child: RpcChild }[],
  targets: string[],
  failures = new Map<string, number>(),
): Promise<number> {
  const results = await Promise.all(
    groups.map((g) =>
      g.child.call<{ at: number; failed: Record<string, number> }>(
        'reach',
        { targets, timeoutMs: FORM_TIMEOUT_MS },
        { timeoutMs: FORM_TIMEOUT_MS + 30_000 },
      ),
    ),
  )
  for (const { failed } of results) addCounts(failures, failed)
  return Math.max(...results.map((r) => r.at))
}

/** ms from the last start until the live groups form a full mesh, their lists naming `members`. */
async function liveMeshTime(live: Group[], members: ClusterMember[], liveCount: number): Promise<number> {
  const spawned: RpcChild[] = []
  try {
    const groups = await Promise.all(live.map((g) => spawnGroup({ pems: g.pems })))
    spawned.push(...groups.map((g) => g.child))
    const lastStart = await startGroups(groups, members)
    return (await meshed(groups, pairsOf(liveCount))) - lastStart
  } finally {
    await Promise.allSettled(spawned.map((c) => c.close(10_000)))
  }
}

const suite: Suite = {
  name: 'cluster-churn',
  description: 'a mesh under churn: dead processes in the static lists, rolling restarts (loopback QUIC)',
  async run({ quick }) {
    const size = Number(process.env.PEER_BENCH_CHURN_SIZE ?? (quick ? 20 : 50))
    const processes = Math.max(2, Math.round(size / NODES_PER_PROCESS))
    const perProcess = Math.ceil(size / processes)
    const deadProcesses = Number(process.env.PEER_BENCH_CHURN_DEAD ?? Math.max(1, Math.round(processes / 5)))
    const rounds = quick ? 1 : 3
    const backend = process.env.PEER_BENCH_CHURN_BACKEND ?? 'static'
    if (backend !== 'static' && backend !== 'etcd') {
      throw new Error(`PEER_BENCH_CHURN_BACKEND is static or etcd, got ${backend}`)
    }
    const policy = process.env.PEER_BENCH_CHURN_POLICY ?? 'mesh'
    if (policy !== 'mesh' && policy !== 'on-demand') {
      throw new Error(`PEER_BENCH_CHURN_POLICY is mesh or on-demand, got ${policy}`)
    }
    const mesh = policy === 'mesh'
    const trafficTimeoutMs = Number(process.env.PEER_BENCH_CHURN_TIMEOUT_MS ?? TRAFFIC_TIMEOUT_MS)
    if (!Number.isInteger(trafficTimeoutMs) || trafficTimeoutMs < 1) {
      throw new Error(`PEER_BENCH_CHURN_TIMEOUT_MS is a whole number of ms, got ${trafficTimeoutMs}`)
    }
    const freezeMs = Number(process.env.PEER_BENCH_CHURN_FREEZE_MS ?? 5000)
    if (!Number.isInteger(freezeMs) || freezeMs < 1) {
      throw new Error(`PEER_BENCH_CHURN_FREEZE_MS is a whole number of ms, got ${freezeMs}`)
    }
    const allModes = ['graceful', 'kill', 'freeze'] as const
    const modes = (process.env.PEER_BENCH_CHURN_ROUNDS ?? allModes.join(',')).split(',').map((m) => {
      const mode = allModes.find((known) => known === m.trim())
      if (mode === undefined)
        throw new Error(`PEER_BENCH_CHURN_ROUNDS lists ${allModes.join(', ')}, got ${m}`)
      return mode
    })
    let etcd: EtcdCluster | undefined
    const kernel = kernelReceiveBuffers()
    const notes: string[] = [
      `${size} nodes in ${processes} processes; load average ${load()} at the start; UDP receive buffers: ` +
        (kernel === undefined
          ? 'unknown'
          : `net.core.rmem_default ${kernel.default} (what quinn listeners get), rmem_max ${kernel.max}`),
    ]
    const measurements: Measurement[] = []
    const holes: Socket[] = []
    const children: RpcChild[] = []
    /** Processes frozen now (SIGSTOP): resumed before anything closes them, whatever failed. */
    const frozen = new Set<number>()
    try {
      // the groups' identities, made once (every round and restart takes them back)
      const made = await Promise.all(
        Array.from({ length: processes }, (_, i) =>
          spawnGroup({ count: Math.min(perProcess, size - i * perProcess) }),
        ),
      )
      await Promise.allSettled(made.map((g) => g.child.close(10_000)))
      const portList = await freePorts(size, { protocols: ['udp'] })
      let next = 0
      const groups: Group[] = made.map((g) => ({
        child: g.child,
        pems: g.pems,
        members: g.ids.map((id) => {
          const i = next++
          return { id, name: `n${i}@churn`, port: portList[i]! }
        }),
      }))
      const members = groups.flatMap((g) => g.members)
      if (backend === 'etcd') etcd = await startEtcd()
      const found: Found =
        etcd === undefined
          ? { backend: 'static', policy }
          : {
              backend: 'etcd',
              policy,
              etcd: {
                endpoints: etcd.endpoints,
                prefix: `/bench-churn-${process.pid}-${Date.now()}`,
                ttl: 10,
              },
            }

      // dead listed (static lists only: a process that never starts never announces itself to etcd)
      if (backend === 'static' && mesh) {
        // dead listed: the last `deadProcesses` groups never start; their ports never answer
        const live = groups.slice(0, processes - deadProcesses)
        const liveMembers = live.flatMap((g) => g.members)
        const dead = groups.slice(processes - deadProcesses).flatMap((g) => g.members)
        for (const m of dead) {
          holes.push((await silentUdpSocket({ port: m.port })).socket)
        }
        // ids nobody holds, so that no restart below can answer for them by accident
        const deadListed = [
          ...liveMembers,
          ...dead.map((m, i) => ({
            ...m,
            id: encodeBase32(createHash('sha256').update(`cluster-churn dead ${i}`).digest()),
          })),
        ]
        const times = { clean: [] as number[], degraded: [] as number[] }
        for (let round = 1; round <= rounds; round++) {
          const before = load()
          times.clean.push(
            await watchdog(liveMeshTime(live, liveMembers, liveMembers.length), 900_000, 'clean'),
          )
          times.degraded.push(
            await watchdog(liveMeshTime(live, deadListed, liveMembers.length), 900_000, 'dead listed'),
          )
          notes.push(
            `dead listed, round ${round}: ${times.clean.at(-1)!.toFixed(0)} ms clean, ` +
              `${times.degraded.at(-1)!.toFixed(0)} ms with ${dead.length} dead; load ${before} -> ${load()}`,
          )
        }
        for (const hole of holes.splice(0)) hole.close()
        const cleanName = `${liveMembers.length} live nodes meshed, lists name only them`
        measurements.push(
          { name: cleanName, value: p50(times.clean), unit: 'ms' },
          {
            name: `${liveMembers.length} live nodes meshed, lists also name ${dead.length} dead`,
            value: p50(times.degraded),
            unit: 'ms',
            baseline: cleanName,
          },
        )
      }

      // rolling restart of the whole cluster, gracefully and with kill -9
      const beforeForm = load()
      const running = await Promise.all(groups.map((g) => spawnGroup({ pems: g.pems })))
      children.push(...running.map((g) => g.child))
      const lastStart = await startGroups(running, members, found)
      const tag = `${backend}, ${policy}`
      // the baseline: a mesh formed; on demand, every node reached the first process's nodes
      const formMs = mesh
        ? (await watchdog(meshed(running, pairsOf(size)), 900_000, 'formation')) - lastStart
        : (await watchdog(
            reached(
              running,
              groups[0]!.members.map((m) => m.id),
            ),
            900_000,
            'formation',
          )) - lastStart
      notes.push(`formation of the ${size}: ${formMs.toFixed(0)} ms (load ${beforeForm} -> ${load()})`)
      const formName = mesh
        ? `${size} nodes meshed after the last start (${tag})`
        : `${size} nodes reached ${perProcess} of them after the last start (${tag})`
      measurements.push({ name: formName, value: formMs, unit: 'ms' })
      // steady traffic from every node; what the nodes not restarted saw is read around each restart
      const traffic = {
        members: members.map((m) => m.id),
        intervalMs: TRAFFIC_INTERVAL_MS,
        timeoutMs: trafficTimeoutMs,
        service: SERVICE,
      }
      await Promise.all(running.map((g) => g.child.call('load', traffic)))
      type LoadStats = { direct: LoadCounts; service: LoadCounts }
      for (const mode of modes) {
        const per: number[] = []
        const fromStart: number[] = []
        const reach: number[] = []
        const reachFailed = new Map<string, number>()
        const calls = {
          direct: { ok: 0, failed: new Map<string, number>(), slow: 0, slower: 0, maxMs: 0 },
          service: { ok: 0, failed: new Map<string, number>(), slow: 0, slower: 0, maxMs: 0 },
        }
        const before = load()
        /** Freeze rounds: what the counters of the frozen process and of the others did, per round. */
        const moved: string[] = []
        for (let i = 0; i < running.length; i++) {
          const others = running.filter((_, j) => j !== i)
          await Promise.all(others.map((g) => g.child.call<LoadStats>('loadStats')))
          const countedBefore =
            mode === 'freeze' ? await Promise.all([countersOf([running[i]!]), countersOf(others)]) : undefined
          let stoppedAt = now()
          let startedAt = stoppedAt
          if (mode === 'freeze') {
            // frozen and resumed in place: the times run from the resume
            const pid = running[i]!.child.pid
            process.kill(pid, 'SIGSTOP')
            frozen.add(pid)
            await new Promise((resolve) => setTimeout(resolve, freezeMs))
            process.kill(pid, 'SIGCONT')
            frozen.delete(pid)
            stoppedAt = now()
            startedAt = stoppedAt
          } else {
            if (mode === 'graceful') {
              await running[i]!.child.call('stop', {}, { timeoutMs: 60_000 }).catch(() => {})
              await running[i]!.child.close(10_000)
            } else await running[i]!.child.crash()
            const fresh = await spawnGroup({ pems: groups[i]!.pems })
            running[i] = fresh
            children[i] = fresh.child
            startedAt = await startGroups([fresh], members, found)
          }
          const ids = groups[i]!.members.map((m) => m.id)
          const reachedAt = await watchdog(
            reached(others, ids, reachFailed),
            900_000,
            `reach after ${mode} ${i}`,
          )
          reach.push(reachedAt - stoppedAt)
          if (mesh) {
            const meshAt = await watchdog(meshed(running, pairsOf(size)), 900_000, `restart ${i}`)
            per.push(meshAt - stoppedAt)
            fromStart.push(meshAt - startedAt)
          }
          if (countedBefore !== undefined) {
            const [frozenAfter, othersAfter] = await Promise.all([
              countersOf([running[i]!]),
              countersOf(others),
            ])
            moved.push(
              `${i}: frozen ${fmtDelta(countedBefore[0], frozenAfter)}; others ${fmtDelta(countedBefore[1], othersAfter)}`,
            )
          }
          for (const seen of await Promise.all(others.map((g) => g.child.call<LoadStats>('loadStats')))) {
            for (const kind of ['direct', 'service'] as const) {
              calls[kind].ok += seen[kind].ok
              calls[kind].slow += seen[kind].slow
              calls[kind].slower += seen[kind].slower
              calls[kind].maxMs = Math.max(calls[kind].maxMs, seen[kind].maxMs)
              addCounts(calls[kind].failed, seen[kind].failed)
            }
          }
          if (mode !== 'freeze') await running[i]!.child.call('load', traffic)
        }
        const how = `${mode === 'kill' ? 'kill -9' : mode === 'freeze' ? `frozen ${freezeMs} ms` : 'stop()'}, ${tag}`
        const restart = mode === 'freeze' ? 'freeze' : 'restart'
        for (const kind of ['direct', 'service'] as const) {
          const { ok, failed: byError, slow, slower, maxMs } = calls[kind]
          const failed = [...byError.values()].reduce((a, b) => a + b, 0)
          const what = kind === 'direct' ? 'to a random member' : `to the service (${SERVICE})`
          notes.push(
            `rolling ${restart} (${mode}): requests ${what} from the nodes not ${restart === 'freeze' ? 'frozen' : 'restarted'} while each other ` +
              `process ${restart === 'freeze' ? 'froze' : 'restarted'} (one every ${TRAFFIC_INTERVAL_MS} ms per node, timeout ${trafficTimeoutMs} ms): ` +
              `${failed} of ${ok + failed} failed${failed === 0 ? '' : `: ${fmtCounts(byError)}`}; ` +
              `${slow} answered after over 1 s (${slower} over 3 s), the slowest in ${maxMs.toFixed(0)} ms`,
          )
          measurements.push({
            name: `requests ${kind === 'direct' ? 'to a member' : 'to a service'} failed during the ${restart}s (${how}), of ${ok + failed}`,
            value: failed,
            unit: 'requests',
          })
        }
        if (moved.length > 0) {
          notes.push(
            `rolling freeze, counters from before each freeze until its process was reached: ${moved.join(' | ')}`,
          )
        }
        notes.push(
          `rolling ${restart} (${mode}), per process: ${fmtList(reach)} ms from the ${mode === 'freeze' ? 'resume' : 'stop'} until every other node's ` +
            `request to its nodes was answered (failures on the way: ${reachFailed.size === 0 ? 'none' : fmtCounts(reachFailed)})${mesh ? `; ${fmtList(per)} ms until meshed${mode === 'freeze' ? '' : `, ${fmtList(fromStart)} ms from the new start`}` : ''}; ` +
            `load ${before} -> ${load()}`,
        )
        measurements.push({
          name: `${restart} of ${perProcess} of ${size} (${how}) until every other node reached them, p50`,
          value: p50(reach),
          unit: 'ms',
          baseline: formName,
        })
        if (mesh) {
          measurements.push(
            {
              name: `${restart} of ${perProcess} of ${size} (${how}) until meshed, p50`,
              value: p50(per),
              unit: 'ms',
              baseline: formName,
            },
            {
              name: `${restart} of ${perProcess} of ${size} (${how}) until meshed, max`,
              value: Math.max(...per),
              unit: 'ms',
              baseline: formName,
            },
          )
          if (mode !== 'freeze') {
            measurements.push({
              name: `${restart} of ${perProcess} of ${size} (${how}), its start until meshed, p50`,
              value: p50(fromStart),
              unit: 'ms',
              baseline: formName,
            })
          }
        }
      }
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT')
      for (const hole of holes) hole.close()
      await Promise.allSettled(children.map((c) => c.close(10_000)))
      await etcd?.close()
    }
    if (backend === 'static' && mesh) notes.push(`dead listed: p50 over ${rounds} round(s)`)
    notes.push(
      'restart times run from the stop of a process (or its new start) until reached, or meshed; freeze times from the resume',
    )
    return { suite: 'cluster-churn', measurements, notes }
  },
}

export default suite

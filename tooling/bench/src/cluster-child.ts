// Child process of `pnpm bench cluster`: hosts a group of nodes (N / P of the cluster) and answers
// the parent's RPC calls. The parent drives every phase; this process only records timestamps
// (wall clock, `performance.timeOrigin + performance.now()`, comparable across processes on one
// machine) and counts.
//
//   identities({ count, pems })            -> ids of `count` fresh identities, or of those `pems` (kept here)
//   pems()                                 -> the identities' key pairs (a restarted group takes them back)
//   start({ peers, backend, policy, ... }) -> starts the nodes, resolves with the time the last one started
//   formed({ policy, timeoutMs })          -> per node: when it knew every member, when it was connected to all
//   requests({ targets })                  -> latencies of requests to the given members, per node
//   single({ from, targets })              -> one node requests each target in turn, twice: latencies
//                                             of the first (may dial) and of the second request
//   connections()                          -> connections open (peers up, summed over the nodes)
//   rss()                                  -> this process's RSS in bytes
//   dialStats()                            -> registry dials, dial failures and dial timeouts, summed over the nodes
//   counters()                             -> stall, probe, connection and dial counters, summed over the nodes
//   watchDown({ ids })                     -> starts recording peer:down / member:left of `ids`; resolves
//                                             with the (node, id) pairs connected now (the peer:down expected):
//                                             `used` ones (every other node here) and `idle` ones
//   useDown({ ids, timeoutMs })            -> each `used` pair sends one request to its killed peer (not awaited)
//   downs()                                -> the recorded times (`down`: idle pairs, `usedDown`, `lost`)
//   load({ members, intervalMs, timeoutMs, service }) -> each node sends a request to a random member
//                                             every interval (and, with `service`, one to the service)
//   loadStats()                            -> the outcomes of those requests since the last read, per kind
//   reach({ targets, timeoutMs })          -> every node here requests each target until one request
//                                             is answered; resolves with when the last one was
//   stop()                                 -> stops every node here, resolves with the time it took
import { encodeServiceList, SERVICES_META_KEY } from '@peer/discovery-core'
import { EtcdDiscovery } from '@peer/discovery-etcd'
import { StaticDiscovery } from '@peer/discovery-static'
import { generateIdentity, type Identity, identityFromPem } from '@peer/identity'
import { createNode, type NodeOptions, type PeerNode } from '@peer/node'
import { serveRpc } from '@peer/testkit/child-process'

/** Connection policies the bench knows (`@peer/node`'s `connect` option). */
export type Policy = 'mesh' | 'on-demand'
export type Backend = 'static' | 'etcd'

/** An identity's key pair, as `identityFromPem` takes it. */
export interface Pem {
  privateKeyPem: string
  certificatePem: string
}

export interface ClusterMember {
  id: string
  name: string
  port: number
}

export interface StartParams {
  /** Every member of the cluster (this group's too, found by id). */
  members: ClusterMember[]
  backend: Backend
  policy: Policy
  etcd?: { endpoints: string[]; prefix: string; ttl: number }
  /** A service every node provides (in the static lists' records, or announced to etcd). */
  service?: string
}

export interface FormedNode {
  id: string
  /** When this node's discovery knew every other member. */
  membersAt: number
  /** When this node was connected to every other member (mesh only). */
  connectedAt: number | undefined
}

export interface DialStats {
  /** Dials started by the registries (`PeerRegistryStats.dials`). */
  dials: number
  /** Dial attempts that failed on every address. */
  dialFailures: number
  /** Single-address dials that hit the dial timeout. */
  dialTimeouts: number
}

const now = () => performance.timeOrigin + performance.now()

const identities: Identity[] = []
const nodes: PeerNode[] = []
const formedAt = new Map<string, FormedNode>()
const downs = new Map<string, number[]>()
const usedDowns = new Map<string, number[]>()
const lost = new Map<string, number[]>()
/** `node id|peer id` of the pairs `useDown` sends a request on. */
const usedPairs = new Set<string>()

/** Node options per connection policy. */
function policyOptions(policy: Policy): Partial<NodeOptions> {
  if (policy === 'mesh') return {}
  return { connect: 'on-demand' }
}

function discoveryFor(params: StartParams, self: ClusterMember) {
  if (params.backend === 'static') {
    const services = params.service === undefined ? undefined : encodeServiceList([params.service])
    const meta = services === undefined ? {} : { meta: { [SERVICES_META_KEY]: services } }
    return new StaticDiscovery({
      self: self.id,
      peers: params.members
        .filter((m) => m.id !== self.id)
        .map((m) => ({ id: m.id, name: m.name, addresses: [{ host: '127.0.0.1', port: m.port }], ...meta })),
    })
  }
  const etcd = params.etcd
  if (etcd === undefined) throw new Error('etcd backend without endpoints')
  return new EtcdDiscovery({ endpoints: etcd.endpoints, prefix: etcd.prefix, ttl: etcd.ttl, self: self.id })
}

async function start(params: StartParams): Promise<number> {
  const byId = new Map(params.members.map((m) => [m.id, m]))
  const trust = params.members.map((m) => m.id)
  const others = params.members.length - 1
  const started = await Promise.all(
    identities.map(async (identity) => {
      const self = byId.get(identity.id)
      if (self === undefined) throw new Error(`identity ${identity.id} is not a member`)
      const node = await createNode({
        identity,
        trust,
        name: self.name,
        listen: { host: '127.0.0.1', port: self.port },
        discovery: discoveryFor(params, self),
        // the registry's defaults (8 dials at once): 64 at once made the 100-node mesh's dial storm
        // time out 17,696 of 29,334 dials (76 s to form) against 638 of 7,091 (30 s) with 8
        registry: { maxPeers: 10_000 },
        ...policyOptions(params.policy),
      })
      // event-driven timestamps: when this node's discovery knew every member, when it was
      // connected to every member (checked once at once: static discovery knows them at start)
      const entry: FormedNode = { id: node.id, membersAt: Number.NaN, connectedAt: undefined }
      formedAt.set(node.id, entry)
      const check = () => {
        const t = now()
        if (Number.isNaN(entry.membersAt) && (node.discovery?.size ?? 0) >= others) entry.membersAt = t
        if (entry.connectedAt === undefined && node.peers().length >= others) entry.connectedAt = t
      }
      node.discovery?.addEventListener('peer:discovered', check)
      node.addEventListener('peer:up', check)
      check()
      return node
    }),
  )
  for (const node of started) {
    node.handle('echo', (payload) => payload)
    nodes.push(node)
  }
  // etcd carries what a node provides in the record it announces; the static lists say it already
  if (params.service !== undefined && params.backend === 'etcd') {
    await Promise.all(started.map((node) => node.provide(params.service!)))
  }
  return now()
}

/** Waits until every node here knew every member (and, for `mesh`, was connected to all), or the timeout. */
async function formed(params: { policy: Policy; timeoutMs: number }): Promise<FormedNode[]> {
  const deadline = Date.now() + params.timeoutMs
  const complete = (e: FormedNode) =>
    !Number.isNaN(e.membersAt) && (params.policy !== 'mesh' || e.connectedAt !== undefined)
  while (![...formedAt.values()].every(complete) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
  }
  return [...formedAt.values()]
}

/** Each node requests every target listed for it, all at once; latencies in ms, and failures. */
async function requests(params: {
  targets: Record<string, string[]>
  timeoutMs: number
}): Promise<{ latencies: number[]; failed: number; errors: string[] }> {
  const latencies: number[] = []
  let failed = 0
  const errors = new Map<string, number>()
  await Promise.all(
    nodes.flatMap((node) =>
      (params.targets[node.id] ?? []).map(async (target) => {
        const t0 = performance.now()
        try {
          await node.request(target, 'echo', { from: node.id }, { timeoutMs: params.timeoutMs })
          latencies.push(performance.now() - t0)
        } catch (error) {
          failed++
          const e = error as Error
          const key = `${e.name}: ${e.message}`
          errors.set(key, (errors.get(key) ?? 0) + 1)
        }
      }),
    ),
  )
  return { latencies, failed, errors: [...errors].map(([message, n]) => `${n} x ${message}`) }
}

/** What `load`'s calls of one kind did: answered, and failed by kind (`<error name>/<reason>`). */
export interface LoadCounts {
  ok: number
  failed: Record<string, number>
  /** Answered, but after over a second. */
  slow: number
  /** Answered, but after over three seconds. */
  slower: number
  /** The longest an answered request took (ms). */
  maxMs: number
}

/** A kind of background call's outcomes since the last `loadStats`. */
interface Tally {
  ok: number
  failed: Map<string, number>
  slow: number
  slower: number
  maxMs: number
}
const tally = (): Tally => ({ ok: 0, failed: new Map(), slow: 0, slower: 0, maxMs: 0 })

/** The background calls of `load`, per kind: to a member, to the service. */
const loadCounts = { direct: tally(), service: tally() }
let loadTimer: NodeJS.Timeout | undefined

function counted(promise: Promise<unknown>, into: Tally): void {
  const started = performance.now()
  promise.then(
    () => {
      const ms = performance.now() - started
      into.ok++
      if (ms > 1000) into.slow++
      if (ms > 3000) into.slower++
      if (ms > into.maxMs) into.maxMs = ms
    },
    (error: Error & { reason?: string }) => {
      const key = errorKey(error)
      into.failed.set(key, (into.failed.get(key) ?? 0) + 1)
    },
  )
}

/**
 * Every `intervalMs`, each node here sends one request (timeout `timeoutMs`) to a random other
 * member of `members`, as a service under steady traffic would, and with `service` one more to
 * that service (any provider; failover included); `loadStats` reads the outcomes.
 */
function load(params: { members: string[]; intervalMs: number; timeoutMs: number; service?: string }): void {
  clearInterval(loadTimer)
  loadTimer = setInterval(() => {
    for (const node of nodes) {
      const others = params.members.filter((id) => id !== node.id)
      const target = others[Math.floor(Math.random() * others.length)]!
      counted(node.request(target, 'echo', null, { timeoutMs: params.timeoutMs }), loadCounts.direct)
      if (params.service !== undefined) {
        const to = { service: params.service }
        counted(node.request(to, 'echo', null, { timeoutMs: params.timeoutMs }), loadCounts.service)
      }
    }
  }, params.intervalMs)
  loadTimer.unref()
}

/** The outcomes of `load`'s calls since the last read (then reset), per kind. */
function loadStats(): { direct: LoadCounts; service: LoadCounts } {
  const read = (c: Tally): LoadCounts => {
    const stats = {
      ok: c.ok,
      failed: Object.fromEntries(c.failed),
      slow: c.slow,
      slower: c.slower,
      maxMs: c.maxMs,
    }
    c.ok = 0
    c.failed.clear()
    c.slow = 0
    c.slower = 0
    c.maxMs = 0
    return stats
  }
  return { direct: read(loadCounts.direct), service: read(loadCounts.service) }
}

/**
 * Every node here requests each of `targets` (itself excepted), again after each failure (every
 * 50 ms, timeout 2 s each), until one request to it is answered; resolves with when the last one
 * was and the failures on the way (counted by error name and reason), or rejects with the last
 * error after `timeoutMs`.
 */
async function reach(params: {
  targets: string[]
  timeoutMs: number
}): Promise<{ at: number; failed: Record<string, number> }> {
  const deadline = performance.now() + params.timeoutMs
  const failed = new Map<string, number>()
  const one = async (node: PeerNode, target: string) => {
    for (;;) {
      try {
        await node.request(target, 'echo', null, { timeoutMs: 2000 })
        return
      } catch (error) {
        if (performance.now() > deadline) throw error
        const key = `${errorKey(error as Error & { reason?: string })} (${String((error as Error).message)
          .replace(/[a-z2-7]{52}/g, '<id>')
          .replace(/\d+/g, 'N')})`
        failed.set(key, (failed.get(key) ?? 0) + 1)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
  await Promise.all(
    nodes.flatMap((node) => params.targets.filter((t) => t !== node.id).map((t) => one(node, t))),
  )
  return { at: now(), failed: Object.fromEntries(failed) }
}

/** An error's name and, for a `PeerUnavailableError`, its reason: `PeerUnavailableError/replaced`. */
function errorKey(error: Error & { reason?: string }): string {
  return `${error.name}${error.reason === undefined ? '' : `/${error.reason}`}`
}

/**
 * One node requests each target in turn (nothing else running), each twice: the first request
 * may open the connection, the second uses it. The latency of a first use without a storm.
 */
async function single(params: {
  from: string
  targets: string[]
  timeoutMs: number
}): Promise<{ first: number[]; again: number[] }> {
  const node = nodes.find((n) => n.id === params.from)
  if (node === undefined) throw new Error(`no node ${params.from} here`)
  const first: number[] = []
  const again: number[] = []
  for (const target of params.targets) {
    for (const into of [first, again]) {
      const t0 = performance.now()
      await node.request(target, 'echo', { from: node.id }, { timeoutMs: params.timeoutMs })
      into.push(performance.now() - t0)
    }
  }
  return { first, again }
}

/** Registry dial counters summed over the nodes here (a failed first request is a failed dial). */
function dialStats(): DialStats {
  const { dials, dialFailures, dialTimeouts } = counters()
  return { dials, dialFailures, dialTimeouts }
}

/** Counters of the stall watch, the liveness probe, connections and dials, summed over the nodes here. */
export type Counters = Record<(typeof COUNTERS)[number], number>
const COUNTERS = [
  'stalls',
  'stallRecoveries',
  'probes',
  'probeFailures',
  'peersUp',
  'peersDown',
  'dials',
  'dialFailures',
  'dialTimeouts',
  'replaced',
  'duplicatesClosed',
] as const

function counters(): Counters {
  const sum = Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Counters
  for (const node of nodes) {
    const from = { ...node.registryStats, ...node.stats } as Record<string, unknown>
    for (const key of COUNTERS) sum[key] += typeof from[key] === 'number' ? from[key] : 0
  }
  return sum
}

const record = (into: Map<string, number[]>, id: string) => {
  const list = into.get(id) ?? []
  list.push(now())
  into.set(id, list)
}

/**
 * Records `peer:down` and `member:left` of `ids` on every node here. Returns how many (node, id)
 * pairs are connected now: only those can see a `peer:down` (with `on-demand`, most pairs never
 * connected); `member:left` comes to every node, from discovery, whatever the connections. The
 * pairs of every other node here are `used` (`useDown` sends a request on them after the kill),
 * the rest `idle` (nothing is sent on them).
 */
function watchDown(params: { ids: string[] }): { idle: number; used: number } {
  const watched = new Set(params.ids)
  const counts = { idle: 0, used: 0 }
  for (const [i, node] of nodes.entries()) {
    for (const peer of node.peers().filter((p) => watched.has(p.id))) {
      if (i % 2 === 0) usedPairs.add(`${node.id}|${peer.id}`)
      counts[i % 2 === 0 ? 'used' : 'idle']++
    }
    node.addEventListener('peer:down', (e) => {
      if (!watched.has(e.detail.id)) return
      record(usedPairs.has(`${node.id}|${e.detail.id}`) ? usedDowns : downs, e.detail.id)
    })
    node.addEventListener('member:left', (e) => {
      if (watched.has(e.detail.id)) record(lost, e.detail.id)
    })
  }
  return counts
}

/**
 * After the kill: each `used` pair sends one request to its (killed) peer, as an application using
 * it would; it times out after `timeoutMs`. Not awaited: resolves with the requests sent.
 */
function useDown(params: { timeoutMs: number }): number {
  let sent = 0
  for (const node of nodes) {
    for (const pair of usedPairs) {
      const [from, to] = pair.split('|') as [string, string]
      if (from !== node.id) continue
      sent++
      node.request(to, 'echo', null, { timeoutMs: params.timeoutMs }).catch(() => {})
    }
  }
  return sent
}

async function stopAll(): Promise<number> {
  clearInterval(loadTimer)
  const t0 = performance.now()
  await Promise.allSettled(nodes.map((n) => n.stop()))
  return performance.now() - t0
}

serveRpc(
  {
    identities: async ({ count, pems }: { count: number; pems?: Pem[] }) => {
      if (pems !== undefined) identities.push(...pems.map((pem) => identityFromPem(pem)))
      else for (let i = 0; i < count; i++) identities.push(await generateIdentity())
      return identities.map((i) => i.id)
    },
    pems: (): Pem[] =>
      identities.map((i) => ({ privateKeyPem: i.privateKeyPem, certificatePem: i.certificatePem })),
    start,
    formed,
    requests,
    single,
    connections: () => nodes.reduce((sum, n) => sum + n.peers().length, 0),
    rss: () => process.memoryUsage().rss,
    dialStats,
    counters,
    watchDown,
    useDown,
    load,
    loadStats,
    reach,
    downs: () => ({
      down: Object.fromEntries(downs),
      usedDown: Object.fromEntries(usedDowns),
      lost: Object.fromEntries(lost),
    }),
    stop: stopAll,
  },
  { onShutdown: stopAll, shutdownTimeoutMs: 10_000 },
)

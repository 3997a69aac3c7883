// The shape of createNode's options, checked before anything else: a JavaScript caller (or a
// config file spread into the options) gets a ConfigError naming the option and what it takes,
// not a TypeError from deep inside ("entries is not iterable", "b.capabilities is not iterable")
// or an InvalidNodeIdError for what was never meant as a node id. Numbers are checked where they
// are used (node-options.ts); this file checks kinds.

import { assertNodeId, ConfigError, SERVICES_META_KEY, undialableHostProblem } from '@peer/discovery-core'
import {
  backendShapeProblems,
  describeValue,
  errorMessage,
  warnUnknownOptions,
} from '@peer/discovery-core/internal'
import { TrustList } from '@peer/identity'
import { DEFAULT_TUNING } from '@peer/transport-quic'

/**
 * Every option `createNode` reads (an unknown one is ignored with a warning). A test keeps it in
 * step with `NodeOptions` through the API report.
 */
export const NODE_OPTION_KEYS: ReadonlySet<string> = new Set([
  'name',
  'identity',
  'listen',
  'announce',
  'discovery',
  'trust',
  'meta',
  'requestTimeoutMs',
  'requestTimeout',
  'maxInFlightRequests',
  'maxConcurrentHandlers',
  'maxQueuedMessages',
  'maxMessageSize',
  'stopTimeoutMs',
  'stopTimeout',
  'helloTimeoutMs',
  'helloTimeout',
  'maxProtocolErrors',
  'maxByteStreams',
  'maxStreamOpensPerSecond',
  'partialFrameTimeoutMs',
  'stallTimeoutMs',
  'probeTimeoutMs',
  'maxBulkBytesInFlight',
  'maxLaneBytesPerTurn',
  'bulkWindowScaling',
  'metrics',
  'lostHysteresisMs',
  'lostHysteresis',
  'connect',
  'idleCloseMs',
  'maxConnections',
  'registry',
  'transport',
  'logger',
])

/**
 * The settings `createNode` passes on from `registry` and `transport` (only these: the rest of
 * the registry's and the transport's options are the node's own, and a key of theirs given here
 * is ignored with a warning, never set over the node's).
 */
export const NESTED_OPTION_KEYS = {
  registry: new Set([
    'dialTimeoutMs',
    'dialTimeout',
    'backoff',
    'maxPeers',
    'maxConcurrentDials',
    'departedHoldMs',
    'probeAttemptMs',
  ]) as ReadonlySet<string>,
  transport: new Set([...Object.keys(DEFAULT_TUNING.loopback), 'engine']) as ReadonlySet<string>,
} as const

/** `settings` with only the keys of `known` (the nested settings `createNode` passes on). @internal */
export function knownSettings<T extends object>(
  settings: T | undefined,
  known: ReadonlySet<string>,
): Partial<T> {
  if (settings === undefined) return {}
  return Object.fromEntries(Object.entries(settings).filter(([k]) => known.has(k))) as Partial<T>
}

/** Throws `ConfigError` for an option of the wrong kind; warns once for each unknown name. @internal */
export function checkNodeOptionShapes(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`createNode: the options must be an object; got ${kindOf(options)}`)
  }
  const o = options as Record<string, unknown>
  warnUnknownOptions('createNode', o, NODE_OPTION_KEYS)
  checkIdentity(o.identity)
  checkTrust(o.trust)
  checkDiscovery(o.discovery)
  checkListen(o.listen)
  checkAnnounce(o.announce)
  checkMeta(o.meta)
  for (const key of ['registry', 'transport'] as const) {
    const value = o[key]
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new ConfigError(`createNode: \`${key}\` must be an object of settings; got ${kindOf(value)}`, {
        option: key,
      })
    }
    warnUnknownOptions('createNode', value, NESTED_OPTION_KEYS[key], `${key}.`)
  }
  if (o.logger !== undefined && typeof o.logger !== 'function') {
    throw new ConfigError(
      `createNode: \`logger\` must be a LoggerFactory (a function of a namespace, e.g. consoleLogger()); got ${kindOf(o.logger)}`,
      { option: 'logger' },
    )
  }
}

function checkIdentity(identity: unknown): void {
  if (identity === undefined) return
  if (typeof identity === 'string' && identity !== '') return
  const id = (identity as { id?: unknown } | null)?.id
  const keyed = (identity as { privateKey?: unknown } | null)?.privateKey !== undefined
  if (typeof identity === 'object' && identity !== null && typeof id === 'string' && keyed) return
  throw new ConfigError(
    `createNode: \`identity\` must be an Identity (generateIdentity(), loadIdentity(dir)) or the path of an identity directory (created when missing); got ${kindOf(identity)}`,
    { option: 'identity' },
  )
}

function checkTrust(trust: unknown): void {
  if (trust === undefined) {
    throw new ConfigError(
      "createNode: `trust` is required (a TrustList, node ids, or 'all' for demos): security is the default",
      { option: 'trust' },
    )
  }
  if (trust === 'all' || trust instanceof TrustList) return
  if (typeof trust === 'string') {
    throw new ConfigError(
      `createNode: \`trust\` is a string (${describeValue(trust)}): pass an array of node ids, a TrustList (\`await TrustList.load(path)\` reads a trust file) or 'all'`,
      { option: 'trust' },
    )
  }
  if (trust === null || typeof (trust as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ConfigError(
      `createNode: \`trust\` must be a TrustList, an iterable of node ids or 'all'; got ${kindOf(trust)}`,
      { option: 'trust' },
    )
  }
  // a one-shot iterable (a generator) is left to the TrustList, which names a bad entry too:
  // iterating it here would leave nothing to trust
  if (!Array.isArray(trust) && !(trust instanceof Set)) return
  let i = 0
  for (const entry of trust as Iterable<unknown>) {
    try {
      assertNodeId(entry)
    } catch (error) {
      throw new ConfigError(`createNode: trust[${i}]: ${errorMessage(error)}`, {
        option: `trust[${i}]`,
        cause: error,
      })
    }
    i++
  }
}

function checkDiscovery(discovery: unknown): void {
  if (discovery === undefined) return
  const list = Array.isArray(discovery) ? discovery : [discovery]
  list.forEach((backend, i) => {
    const problems = backendShapeProblems(backend)
    if (problems.length === 0) return
    const b = backend as Record<string, unknown> | null
    const where = Array.isArray(discovery) ? `discovery[${i}]` : 'discovery'
    const cliEntry =
      typeof b === 'object' && b !== null && 'backend' in b
        ? ' (`{ backend: ... }` entries are the CLI config format; in code, construct the backend: new StaticDiscovery(...), new MdnsDiscovery(...))'
        : ''
    // for a plain value or a CLI entry what it is says enough; for another object, what it lacks
    const lacks = cliEntry === '' && typeof b === 'object' && b !== null ? ` (${problems.join(', ')})` : ''
    throw new ConfigError(
      `createNode: \`${where}\` is not a discovery backend (source, capabilities, started, start, stop, lookup, events); got ${kindOf(backend)}${lacks}${cliEntry}`,
      { option: where },
    )
  })
}

function checkListen(listen: unknown): void {
  if (listen === undefined) return
  if (typeof listen === 'string') {
    throw new ConfigError(
      `createNode: \`listen\` must be an object, e.g. { host: '127.0.0.1', port: 4000 }; got ${kindOf(listen)}`,
      { option: 'listen' },
    )
  }
  if (listen === null || typeof listen !== 'object' || Array.isArray(listen)) {
    throw new ConfigError(`createNode: \`listen\` must be { host?, port? }; got ${kindOf(listen)}`, {
      option: 'listen',
    })
  }
  const { host, port } = listen as { host?: unknown; port?: unknown }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new ConfigError(`createNode: \`listen.host\` must be a non-empty string; got ${kindOf(host)}`, {
      option: 'listen.host',
    })
  }
  if (
    port !== undefined &&
    !(Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65_535)
  ) {
    throw new ConfigError(
      `createNode: \`listen.port\` must be an integer from 0 (any free port) to 65535; got ${kindOf(port)}`,
      { option: 'listen.port' },
    )
  }
}

function checkAnnounce(announce: unknown): void {
  if (announce === undefined) return
  if (!Array.isArray(announce)) {
    throw new ConfigError(
      `createNode: \`announce\` must be an array of { host, port }; got ${kindOf(announce)}`,
      {
        option: 'announce',
      },
    )
  }
  for (const a of announce as Array<{ host?: unknown }>) {
    const problem = typeof a?.host === 'string' ? undialableHostProblem(a.host) : 'an address needs a host'
    if (problem === undefined) continue
    throw new ConfigError(
      `createNode: announce: ${problem}: announce an address of this host that peers can reach, or leave announce out to announce every interface address`,
      { option: 'announce' },
    )
  }
}

function checkMeta(meta: unknown): void {
  if (meta === undefined) return
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new ConfigError(`createNode: \`meta\` must be an object of strings; got ${kindOf(meta)}`, {
      option: 'meta',
    })
  }
  if (Object.hasOwn(meta, SERVICES_META_KEY)) {
    // the node announces meta.services itself, from provide() and unprovide()
    throw new ConfigError(
      `createNode: meta.${SERVICES_META_KEY} is the list of services this node provides, which the node keeps: call node.provide(name) for each instead`,
      { option: 'meta' },
    )
  }
}

/** What a wrong value is, for a message: its type, with a hint of its content. */
function kindOf(value: unknown): string {
  if (typeof value === 'string') return `the string ${describeValue(value)}`
  if (typeof value === 'function') {
    const name = value.name === '' ? ' X' : ` ${value.name}`
    return `${describeValue(value)} (a class? pass an instance: new${name}(...))`
  }
  return describeValue(value)
}

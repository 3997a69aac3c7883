import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { LogLevel, PeerAddress } from '@peer/discovery-core'
import {
  type AbortOptions,
  SERVICES_META_KEY,
  throwIfAborted,
  undialableHostProblem,
} from '@peer/discovery-core'
import { warnDeprecated } from '@peer/discovery-core/internal'
import { z } from 'zod'
import { dnsBackend } from './config/dns.js'
import { etcdBackend } from './config/etcd.js'
import {
  address,
  MAX_ADVERTISED_ADDRESSES,
  MAX_INLINE_PEERS,
  meta,
  millis,
  nodeId,
  nodeName,
  path,
} from './config/fields.js'
import { mdnsBackend } from './config/mdns.js'
import { problemsOf } from './config/problems.js'
import { staticBackend } from './config/static.js'
import { ConfigError } from './errors.js'

export { MAX_ADVERTISED_ADDRESSES, MAX_INLINE_PEERS, parseAddress } from './config/fields.js'
export { formatPath, MAX_REPORTED_PROBLEMS, problemsOf } from './config/problems.js'

/** Log levels the config file and the `--log-level` options accept (lowest first). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[]

/** Largest configuration file accepted, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024
/** Most discovery backends in one configuration. */
export const MAX_BACKENDS = 8

/** The default identity directory: `$PEER_HOME/identity`, `$PEER_HOME` defaulting to `~/.peer`. */
export function defaultIdentityDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.PEER_HOME ?? join(homedir(), '.peer'), 'identity')
}

/** The default listen address: loopback, any free port. */
export const DEFAULT_LISTEN: Readonly<PeerAddress> = Object.freeze({ host: '127.0.0.1', port: 0 })

/** One discovery backend entry: the schema of each backend lives in `config/<backend>.ts`. */
export const backend = z.discriminatedUnion('backend', [staticBackend, dnsBackend, mdnsBackend, etcdBackend])

const trustEntry = z.union([nodeId, z.strictObject({ id: nodeId, label: z.string().max(200).optional() })])

const trust = z.union([
  path,
  z.strictObject({
    file: path.optional(),
    peers: z.array(trustEntry).max(MAX_INLINE_PEERS).optional(),
  }),
])

const identity = z.union([path, z.strictObject({ keyFile: path, certFile: path })])

/** The configuration file's schema (zod), before defaults and path resolution. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: nodeName.optional(),
    identity: identity.optional(),
    createIdentity: z.boolean().optional(),
    listen: address({ allowPortZero: true }).optional(),
    advertise: z
      .array(
        address().superRefine((a, ctx) => {
          const problem = undialableHostProblem(a.host)
          if (problem === undefined) return
          ctx.addIssue({
            code: 'custom',
            message: `${problem}: advertise an address of this host that peers can reach`,
          })
        }),
      )
      .max(MAX_ADVERTISED_ADDRESSES)
      .optional(),
    trust: trust.optional(),
    discovery: z.array(backend).max(MAX_BACKENDS).optional(),
    lostHysteresisMs: millis.optional(),
    // this node's meta: not `services`, which the node keeps (--provide)
    meta: meta
      .refine((m) => !Object.hasOwn(m, SERVICES_META_KEY), {
        message: `meta.${SERVICES_META_KEY} is kept by the node from the services it provides: use --provide NAME`,
        path: [SERVICES_META_KEY],
      })
      .optional(),
    requestTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    transport: z
      .strictObject({
        maxIdleTimeoutMs: millis.optional(),
        keepAliveIntervalMs: millis.optional(),
        connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
      })
      .optional(),
    reconnect: z
      .strictObject({
        initialDelayMs: z.number().int().min(1).max(600_000).optional(),
        maxDelayMs: z.number().int().min(1).max(3_600_000).optional(),
        dialTimeoutMs: z.number().int().min(1).max(600_000).optional(),
      })
      .optional(),
    log: z
      .strictObject({
        level: z.enum(LOG_LEVELS).optional(),
        filter: z.string().max(1000).optional(),
      })
      .optional(),
  })
  .check((ctx) => {
    const seen = new Map<string, number>()
    ctx.value.discovery?.forEach((b, i) => {
      const first = seen.get(b.backend)
      if (first !== undefined) {
        ctx.issues.push({
          code: 'custom',
          message: `backend "${b.backend}" is already configured at discovery[${first}]`,
          input: b,
          path: ['discovery', i, 'backend'],
        })
      } else seen.set(b.backend, i)
    })
  })

/**
 * Options renamed to the one duration rule (milliseconds, `Ms` suffix), accepted under their old
 * names until the next minor version with a one-time deprecation warning. `seconds` marks old
 * names whose values were seconds.
 */
export const DEPRECATED_CONFIG_KEYS: ReadonlyArray<{
  where: 'top' | 'reconnect' | 'dns' | 'etcd'
  old: string
  current: string
  seconds?: true
}> = [
  { where: 'top', old: 'lostHysteresis', current: 'lostHysteresisMs' },
  { where: 'top', old: 'requestTimeout', current: 'requestTimeoutMs' },
  { where: 'reconnect', old: 'initialDelay', current: 'initialDelayMs' },
  { where: 'reconnect', old: 'maxDelay', current: 'maxDelayMs' },
  { where: 'reconnect', old: 'dialTimeout', current: 'dialTimeoutMs' },
  { where: 'dns', old: 'minTtl', current: 'minTtlMs', seconds: true },
  { where: 'dns', old: 'maxTtl', current: 'maxTtlMs', seconds: true },
  { where: 'dns', old: 'staleAfter', current: 'staleAfterMs', seconds: true },
  { where: 'dns', old: 'retryDelay', current: 'retryDelayMs', seconds: true },
  { where: 'etcd', old: 'staleLimit', current: 'staleAfterMs' },
  { where: 'etcd', old: 'requestTimeout', current: 'requestTimeoutMs' },
]

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Moves deprecated keys of `obj` (section `where`) to their new names; the new name wins. */
function migrateKeys(obj: unknown, where: string, file: string): unknown {
  if (!isObject(obj)) return obj
  let out: Record<string, unknown> | undefined
  for (const k of DEPRECATED_CONFIG_KEYS) {
    if (k.where !== where || !(k.old in obj)) continue
    out ??= { ...obj }
    const value = out[k.old]
    delete out[k.old]
    if (!(k.current in out)) out[k.current] = k.seconds && typeof value === 'number' ? value * 1000 : value
    warnDeprecated(
      `${file}: config key "${k.old}" is deprecated; use "${k.current}"${k.seconds ? ' (milliseconds, not seconds)' : ''}`,
      `peer-config.${where}.${k.old}`,
    )
  }
  return out ?? obj
}

function migrateBackend(entry: unknown, file: string): unknown {
  if (!isObject(entry) || (entry.backend !== 'dns' && entry.backend !== 'etcd')) return entry
  return migrateKeys(entry, entry.backend, file)
}

function migrateConfig(input: unknown, file: string): unknown {
  if (!isObject(input)) return input
  const out = migrateKeys(input, 'top', file) as Record<string, unknown>
  const next = { ...out }
  if (isObject(out.reconnect)) next.reconnect = migrateKeys(out.reconnect, 'reconnect', file)
  if (Array.isArray(out.discovery)) next.discovery = out.discovery.map((b) => migrateBackend(b, file))
  return next
}

/**
 * Validates one discovery backend entry (as built from `peer discover` flags) and resolves its
 * paths. Throws a {@link ConfigError} naming the bad field (renamed through `fieldNames`).
 */
export function parseBackendConfig(input: unknown, source: ConfigSource): BackendConfig {
  input = migrateBackend(input, source.file)
  const result = backend.safeParse(input)
  if (!result.success) {
    throw new ConfigError(source.file, problemsOf(result.error.issues, input, source.fieldNames))
  }
  const baseDir = source.baseDir ?? process.cwd()
  const b = result.data
  return b.backend === 'static' && b.file !== undefined && !isAbsolute(b.file)
    ? { ...b, file: resolve(baseDir, b.file) }
    : b
}

/** The configuration as written (after validation, before defaults). */
export type ConfigInput = z.output<typeof configSchema>
/** One discovery backend entry of the configuration, with paths made absolute. */
export type BackendConfig = z.output<typeof backend>
/** The backends the CLI knows. */
export const BACKENDS = ['static', 'dns', 'mdns', 'etcd'] as const
/** A backend name. */
export type BackendName = (typeof BACKENDS)[number]

/** A complete, validated configuration with defaults applied and every path absolute. */
export interface PeerConfig {
  /** Node name (`name@host`), when given. */
  name?: string | undefined
  /** Identity directory (holding `node.key` + `node.crt`) or explicit files. */
  identity: string | { keyFile: string; certFile: string }
  /** Generate the identity when it does not exist yet. Default false. */
  createIdentity: boolean
  /** Where the node listens (port 0: any free port). */
  listen: PeerAddress
  /** Addresses announced to discovery; default the bound listen address. */
  advertise?: PeerAddress[] | undefined
  /** The trusted ids: a trust list file and/or inline entries. */
  trust: { file?: string | undefined; peers: Array<{ id: string; label?: string | undefined }> }
  /** Discovery backends, highest priority first. */
  discovery: BackendConfig[]
  /** Hysteresis of the aggregate `Discovery`, ms. */
  lostHysteresisMs?: number | undefined
  /** Small string metadata announced with the node. */
  meta?: Record<string, string> | undefined
  /** Default request timeout, ms. */
  requestTimeoutMs?: number | undefined
  /** QUIC tuning: idle timeout (failure detection), keepalive, connect timeout (ms). */
  transport?:
    | { maxIdleTimeoutMs?: number; keepAliveIntervalMs?: number; connectTimeoutMs?: number }
    | undefined
  /** Redial backoff and dial timeout of the peer registry (ms). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; dialTimeoutMs?: number } | undefined
  /** Logging (to stderr): level and `PEER_DEBUG`-style namespace filter. */
  log: { level: LogLevel; filter?: string | undefined }
}

/** Where a configuration came from, for error messages and relative paths. */
export interface ConfigSource {
  /** Shown in errors: the file path, or `'command line'`. */
  file: string
  /** Relative paths are resolved against it. Default: the file's directory, or the current directory. */
  baseDir?: string
  /** Environment for defaults (`PEER_HOME`). Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /**
   * Renames fields in error messages (used for flags: `{ listen: '--listen' }`), matched on the
   * first path segment.
   */
  fieldNames?: Readonly<Record<string, string>>
}

/**
 * Validates a parsed configuration object and applies defaults. Throws a {@link ConfigError}
 * listing every bad field by path (`discovery[1].endpoints[0]: expected an etcd URL ...`).
 */
export function parseConfig(input: unknown, source: ConfigSource): PeerConfig {
  input = migrateConfig(input, source.file)
  const result = configSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(source.file, problemsOf(result.error.issues, input, source.fieldNames))
  }
  const baseDir = source.baseDir ?? (source.file === 'command line' ? process.cwd() : dirname(source.file))
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p))
  const c = result.data
  const trustInput = c.trust
  const trustConfig: PeerConfig['trust'] =
    trustInput === undefined
      ? { peers: [] }
      : typeof trustInput === 'string'
        ? { file: abs(trustInput), peers: [] }
        : {
            ...(trustInput.file === undefined ? {} : { file: abs(trustInput.file) }),
            peers: (trustInput.peers ?? []).map((e) => (typeof e === 'string' ? { id: e } : e)),
          }
  const identityInput = c.identity ?? defaultIdentityDir(source.env)
  return {
    name: c.name,
    identity:
      typeof identityInput === 'string'
        ? abs(identityInput)
        : { keyFile: abs(identityInput.keyFile), certFile: abs(identityInput.certFile) },
    createIdentity: c.createIdentity ?? false,
    listen: c.listen ?? { ...DEFAULT_LISTEN },
    advertise: c.advertise,
    trust: trustConfig,
    discovery: (c.discovery ?? []).map((b) =>
      b.backend === 'static' && b.file !== undefined ? { ...b, file: abs(b.file) } : b,
    ),
    lostHysteresisMs: c.lostHysteresisMs,
    meta: c.meta,
    requestTimeoutMs: c.requestTimeoutMs,
    transport: c.transport,
    reconnect: c.reconnect,
    log: { level: c.log?.level ?? 'warn', filter: c.log?.filter },
  }
}

/**
 * Reads, parses and validates a configuration file. Throws a {@link ConfigError} for a missing,
 * unreadable, oversized or non-JSON file (with line and column) and for every invalid field.
 */
export async function loadConfigFile(
  file: string,
  options: Omit<ConfigSource, 'file'> & AbortOptions = {},
): Promise<PeerConfig> {
  const { signal, ...source } = options
  const text = await readConfigText(file, { signal })
  return parseConfig(parseJson(text, file), { ...source, file })
}

/**
 * Reads a JSON file with the configuration size limit; throws {@link ConfigError} naming the file,
 * or an `AbortError` when `signal` aborts.
 */
export async function readConfigText(file: string, options: AbortOptions = {}): Promise<string> {
  const { signal } = options
  throwIfAborted(signal)
  let size: number
  try {
    const info = await stat(file)
    if (!info.isFile()) throw new ConfigError(file, [{ field: '', message: 'is not a regular file' }])
    size = info.size
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const code = (error as NodeJS.ErrnoException).code
    const message = code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code ?? 'error'})`
    throw new ConfigError(file, [{ field: '', message }], { cause: error })
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError(file, [
      { field: '', message: `file is too large (${size} bytes, at most ${MAX_CONFIG_BYTES})` },
    ])
  }
  throwIfAborted(signal)
  try {
    return await readFile(file, { encoding: 'utf8', signal })
  } catch (error) {
    throwIfAborted(signal)
    throw new ConfigError(file, [{ field: '', message: 'cannot be read' }], { cause: error })
  }
}

/** `JSON.parse` with an error that gives the line and column. */
export function parseJson(text: string, file: string): unknown {
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  try {
    return JSON.parse(json)
  } catch (error) {
    const message = (error as Error).message
    const at = /at position (\d+)/.exec(message)
    let where = ''
    if (at) {
      const pos = Number(at[1])
      const before = json.slice(0, pos)
      const line = before.split('\n').length
      const column = pos - before.lastIndexOf('\n')
      where = ` at line ${line} column ${column}`
    } else if (/end of JSON input/i.test(message)) {
      where = ' (the file ends too early)'
    }
    // the position is given as line and column above
    const reason = message
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/ at position \d+.*$/, '')
      .replace(/^JSON\.parse: /, '')
    throw new ConfigError(file, [{ field: '', message: `not valid JSON${where}: ${reason}` }], {
      cause: error,
    })
  }
}

import { hostProblem, isNodeId, type PeerAddress, parseNodeName } from '@peer/discovery-core'
import { describeValue, quote } from '@peer/discovery-core/internal'
import { z } from 'zod'

/**
 * The field schemas the configuration's sections share (addresses, node ids and names, paths,
 * durations, peer metadata). Each discovery backend's options live in a file of their own next
 * to this one (`static.ts`, `dns.ts`, `mdns.ts`, `etcd.ts`); `../config.ts` composes them.
 */

/** Most peers listed inline (static `peers`, `trust.peers`). */
export const MAX_INLINE_PEERS = 10_000
/** Most addresses a node advertises. */
export const MAX_ADVERTISED_ADDRESSES = 16

const NODE_ID_HINT = 'expected a node id: 52 characters of lowercase base32 (see `peer id`)'

/** Parses `host:port`, `[v6]:port` or `{ host, port }`; returns a problem string when it is neither. */
export function parseAddress(
  value: unknown,
  { allowPortZero = false } = {},
): { ok: true; address: PeerAddress } | { ok: false; field?: string; message: string } {
  const minPort = allowPortZero ? 0 : 1
  const portProblem = (port: unknown) =>
    typeof port !== 'number' || !Number.isInteger(port) || port < minPort || port > 65535
      ? `expected a port in ${minPort}-65535, got ${quote(port)}`
      : undefined
  if (typeof value === 'string') {
    const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value)
    if (!m) return { ok: false, message: `expected "host:port" (or "[v6]:port"), got ${quote(value)}` }
    const host = m[1]!
    const port = Number(m[2])
    const problem = hostProblem(host)
    if (problem !== undefined) return { ok: false, message: `${problem} in ${quote(value)}` }
    const bad = portProblem(port)
    if (bad !== undefined) return { ok: false, message: `${bad} in ${quote(value)}` }
    return { ok: true, address: { host, port } }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { host, port, ...rest } = value as Record<string, unknown>
    const extra = Object.keys(rest)
    if (extra.length > 0) return { ok: false, message: `unknown key ${quote(extra[0])} in an address` }
    if (typeof host !== 'string')
      return { ok: false, field: 'host', message: 'expected a host name or IP address' }
    const problem = hostProblem(host)
    if (problem !== undefined) return { ok: false, field: 'host', message: problem }
    const bad = portProblem(port)
    if (bad !== undefined) return { ok: false, field: 'port', message: bad }
    const clean = host.startsWith('[') ? host.slice(1, -1) : host
    return { ok: true, address: { host: clean, port: port as number } }
  }
  return { ok: false, message: `expected "host:port" or { "host", "port" }, got ${describe(value)}` }
}

export const address = (options: { allowPortZero?: boolean } = {}) =>
  z.unknown().transform((value, ctx): PeerAddress => {
    const parsed = parseAddress(value, options)
    if (parsed.ok) return parsed.address
    ctx.issues.push({
      code: 'custom',
      message: parsed.message,
      input: value,
      ...(parsed.field === undefined ? {} : { path: [parsed.field] }),
    })
    return z.NEVER
  })

export const nodeId = z.string().check((ctx) => {
  if (!isNodeId(ctx.value)) ctx.issues.push({ code: 'custom', message: NODE_ID_HINT, input: ctx.value })
})

export const nodeName = z.string().check((ctx) => {
  try {
    parseNodeName(ctx.value)
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: (error as Error).message, input: ctx.value })
  }
})

export const path = z.string().min(1, 'expected a non-empty path')

/** A positive duration up to a week, ms. */
export const weekMs = z
  .number()
  .positive()
  .max(7 * 24 * 3600 * 1000)
export const millis = z
  .number()
  .int()
  .min(0)
  .max(24 * 3600 * 1000)

/** Peer metadata: the limits of `validatePeerRecord` in @peer/discovery-core. */
export const meta = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'meta keys are 1-64 characters of [A-Za-z0-9._-]'),
  z.string().max(255),
)

/** A value as a problem message names it (`"text"`, `an object`, `number 3`). */
export function describe(value: unknown): string {
  // a field missing from a JSON file is "nothing", not JavaScript's undefined
  return value === undefined ? 'nothing' : describeValue(value)
}

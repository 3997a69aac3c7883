import { quote } from './describe-value.js'
import { InvalidNodeNameError } from './errors.js'
import { hostProblem, ipFamily } from './host.js'
import { hasControlChars } from './text.js'

/**
 * A parsed node name.
 * - `name@host` as in Erlang: a short name has a host without dots (`app@box`), a long name a
 *   fully qualified host or an IP (`app@box.example.com`, `app@10.0.0.7`).
 * - `port@ip` as in macula: the part before `@` is a port (1-65535) and the host is an IPv4 or
 *   IPv6 literal (`4000@127.0.0.1`, `4000@::1`, `4000@[::1]`).
 */
export type NodeName =
  | { readonly kind: 'name'; readonly name: string; readonly host: string; readonly long: boolean }
  | { readonly kind: 'port'; readonly port: number; readonly ip: string; readonly family: 4 | 6 }

/** Longest node name accepted, in characters. */
export const MAX_NODE_NAME_LENGTH = 255
const NAME_PART = /^[A-Za-z0-9_-]+$/

/** Parses a node name, throwing an {@link InvalidNodeNameError} that says what is wrong. */
export function parseNodeName(input: string): NodeName {
  if (typeof input !== 'string') throw new InvalidNodeNameError(String(input), 'a node name must be a string')
  if (input.length === 0) throw new InvalidNodeNameError(input, 'it is empty')
  if (input.length > MAX_NODE_NAME_LENGTH) {
    throw new InvalidNodeNameError(input, `it is longer than ${MAX_NODE_NAME_LENGTH} characters`)
  }
  if (/\s/.test(input) || hasControlChars(input)) {
    throw new InvalidNodeNameError(input, 'it contains whitespace or control characters')
  }
  const at = input.indexOf('@')
  if (at === -1) throw new InvalidNodeNameError(input, "expected 'name@host' or 'port@ip', found no '@'")
  if (input.indexOf('@', at + 1) !== -1)
    throw new InvalidNodeNameError(input, "it contains more than one '@'")
  const left = input.slice(0, at)
  const host = input.slice(at + 1)
  if (left.length === 0) throw new InvalidNodeNameError(input, "the part before '@' is empty")
  if (host.length === 0) throw new InvalidNodeNameError(input, "the host after '@' is empty")

  if (/^[0-9]+$/.test(left)) {
    const port = Number(left)
    if (
      !Number.isSafeInteger(port) ||
      port < 1 ||
      port > 65535 ||
      (left.length > 1 && left.startsWith('0'))
    ) {
      throw new InvalidNodeNameError(input, `port ${left} is not an integer in 1-65535`)
    }
    const family = ipFamily(host)
    if (family === 0)
      throw new InvalidNodeNameError(
        input,
        `in 'port@ip' form the host must be an IP address, got ${quote(host)}`,
      )
    const ip = host.startsWith('[') ? host.slice(1, -1) : host
    return { kind: 'port', port, ip, family }
  }

  if (!NAME_PART.test(left)) {
    throw new InvalidNodeNameError(
      input,
      `the name ${quote(left)} may contain only letters, digits, '_' and '-'`,
    )
  }
  const problem = hostProblem(host)
  if (problem !== undefined) throw new InvalidNodeNameError(input, problem)
  const long = host.includes('.') || ipFamily(host) !== 0
  return { kind: 'name', name: left, host, long }
}

/** Formats a node name; `formatNodeName(parseNodeName(s))` is `s` up to IPv6 brackets. */
export function formatNodeName(name: NodeName): string {
  return name.kind === 'name' ? `${name.name}@${name.host}` : `${name.port}@${name.ip}`
}

/** True when `input` parses as a node name. */
export function isNodeName(input: unknown): input is string {
  if (typeof input !== 'string') return false
  try {
    parseNodeName(input)
    return true
  } catch {
    return false
  }
}

/**
 * How `name` (a node name as a record or a hello carries it) matches `ref`, a name a caller gave:
 * `exact`, `short` (`ref` is the part before `@`: `api` for `api@10.0.0.7`), or `undefined`.
 * @internal
 */
export function nameMatch(name: string | undefined, ref: string): 'exact' | 'short' | undefined {
  if (name === undefined) return undefined
  if (name === ref) return 'exact'
  return name.slice(0, name.indexOf('@')) === ref ? 'short' : undefined
}

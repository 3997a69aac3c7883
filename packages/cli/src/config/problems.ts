// Problems of a configuration: zod's issues turned into `{ field, message }` entries with readable
// paths (`discovery[1].endpoints[0]`) and messages that quote the offending value.
import { quote } from '@peer/discovery-core/internal'
import type { ConfigProblem } from '../errors.js'
import { describe } from './fields.js'

/** Most problems listed in one {@link ConfigError}; the rest are summarised. */
export const MAX_REPORTED_PROBLEMS = 20

interface Issue {
  code: string
  path: readonly PropertyKey[]
  message: string
  errors?: readonly (readonly Issue[])[]
  issues?: readonly Issue[]
  expected?: unknown
  input?: unknown
  keys?: readonly string[]
  options?: readonly unknown[]
  values?: readonly unknown[]
  origin?: string
  maximum?: number | bigint
  minimum?: number | bigint
  inclusive?: boolean
}

/** Turns zod issues into problems with readable paths, choosing the relevant branch of unions. */
export function problemsOf(
  issues: readonly Issue[],
  input: unknown,
  fieldNames: Readonly<Record<string, string>> = {},
): ConfigProblem[] {
  const out: ConfigProblem[] = []
  const walk = (list: readonly Issue[], prefix: readonly PropertyKey[]) => {
    for (const issue of list) {
      const path = [...prefix, ...issue.path]
      if (issue.code === 'invalid_union' && issue.errors !== undefined && issue.errors.length > 0) {
        // a branch that got past the type check is the one the user meant
        const meant = issue.errors.filter(
          (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
        )
        if (meant.length >= 1) {
          walk(meant[0]!, path)
          continue
        }
        const expected = issue.errors.map((b) => b[0]?.expected).filter((e) => e !== undefined)
        const value = valueAt(input, path)
        out.push({
          field: formatPath(path, fieldNames),
          message:
            value === undefined
              ? 'is required'
              : `expected ${[...new Set(expected)].join(' or ')}, got ${describe(value)}`,
        })
        continue
      }
      out.push({ field: formatPath(path, fieldNames), message: messageOf(issue, valueAt(input, path)) })
    }
  }
  walk(issues, [])
  if (out.length > MAX_REPORTED_PROBLEMS) {
    const more = out.length - MAX_REPORTED_PROBLEMS
    out.length = MAX_REPORTED_PROBLEMS
    out.push({ field: '', message: `... and ${more} more problems` })
  }
  return out
}

function messageOf(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = (issue.keys ?? []).map((k) => quote(k)).join(', ')
      return `unknown ${issue.keys?.length === 1 ? 'key' : 'keys'} ${keys}`
    }
    case 'invalid_key':
      if (issue.issues?.[0] !== undefined) return messageOf(issue.issues[0], undefined)
      break
    case 'invalid_type':
      if (value === undefined) return 'is required'
      return `expected ${issue.expected === 'int' ? 'an integer' : String(issue.expected)}, got ${describe(value)}`
    case 'invalid_union':
    case 'invalid_value':
      if ((issue.values ?? issue.options) !== undefined) {
        return `expected one of ${(issue.values ?? issue.options)!.map((o) => quote(o)).join(', ')}, got ${describe(value)}`
      }
      break
    case 'too_big':
    case 'too_small': {
      if (!issue.message.startsWith('Too ')) break
      const bound = issue.code === 'too_big' ? issue.maximum : issue.minimum
      const word = issue.code === 'too_big' ? 'at most' : 'at least'
      const strict = issue.inclusive === false ? (issue.code === 'too_big' ? 'below' : 'above') : word
      const plural = bound === 1 || bound === 1n ? '' : 's'
      if (issue.origin === 'array') return `expected ${word} ${bound} entr${plural ? 'ies' : 'y'}`
      if (issue.origin === 'string') return `expected ${word} ${bound} character${plural}`
      if (issue.origin === 'number') return `expected a number ${strict} ${bound}, got ${describe(value)}`
      break
    }
  }
  return issue.message.replace(/^Invalid (input|option): /, '')
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[part]
  }
  return value
}

/** `['discovery', 1, 'endpoints', 0]` -> `discovery[1].endpoints[0]`. */
export function formatPath(
  path: readonly PropertyKey[],
  fieldNames: Readonly<Record<string, string>> = {},
): string {
  let out = ''
  path.forEach((part, i) => {
    if (typeof part === 'number') out += `[${part}]`
    else {
      const name = i === 0 ? (fieldNames[String(part)] ?? String(part)) : String(part)
      if (i > 0 && !/^[A-Za-z_$][\w$-]*$/.test(name)) out += `[${quote(name)}]`
      else out += out === '' ? name : `.${name}`
    }
  })
  return out
}

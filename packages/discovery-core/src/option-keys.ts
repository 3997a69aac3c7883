// Unknown option names: every constructor that takes an options object warns once per owner and
// name about a key it does not read (a typo such as `requestTimoutMs`, or a config file spread
// into the options), suggesting the known name it looks like. A warning, not an error: a caller
// may pass a larger object on purpose, and TypeScript callers already get a compile error.

/** The options every backend built on `AbstractDiscoveryBackend` reads (`BackendOptions`). */
export const BACKEND_OPTION_KEYS: readonly string[] = ['self', 'logger', 'maxPeers', 'recordLimits']

/** `owner.name` pairs warned about (bounded: a caller spreading ever-new keys cannot grow it). */
const warned = new Set<string>()
const MAX_WARNED = 200

/**
 * Emits a `PEER_UNKNOWN_OPTION` process warning, once per `owner` and name for the life of the
 * process, for each own key of `options` not in `known`, naming the known option within two
 * edits of it (ignoring case) when there is one. `prefix` names a nested object (`transport.`).
 */
export function warnUnknownOptions(
  owner: string,
  options: unknown,
  known: ReadonlySet<string>,
  prefix = '',
): void {
  if (options === null || typeof options !== 'object') return
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue
    const id = `${owner}.${prefix}${key}`
    if (warned.has(id)) continue
    if (warned.size < MAX_WARNED) warned.add(id)
    const near = nearestName(key, known)
    process.emitWarning(
      `${owner}: unknown option \`${prefix}${key}\` is ignored${near === undefined ? '' : `; did you mean \`${prefix}${near}\`?`}`,
      { code: 'PEER_UNKNOWN_OPTION' },
    )
  }
}

/** The name of `known` within 2 edits of `key`, ignoring case, if one is (the closest). */
export function nearestName(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  const lower = key.toLowerCase()
  for (const name of known) {
    const d = editDistance(lower, name.toLowerCase(), bestDistance)
    if (d < bestDistance) {
      best = name
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance of `a` and `b`, or `limit` once it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
    }
    if (Math.min(...current) >= limit) return limit
    previous = current
  }
  return Math.min(previous[b.length]!, limit)
}

import { isNodeId } from '@peer/discovery-core'
import { parseTxt, TXT_KEY } from './wire/txt.js'

/** Where a peer's node id is read from. */
export type IdSource = 'txt' | 'label' | 'txt-or-label'

/** What the TXT record and the target name say about a node. */
export interface NodeIdentity {
  /** The node id, from TXT `id=` or the target's first label, as the `IdSource` says. */
  readonly id: string
  /**
   * The TXT `name=` value, as given (checked later, when the peer record is built); `undefined` when
   * there is none or the `IdSource` is `label` (TXT is not read then).
   */
  readonly name?: string | undefined
  /**
   * The other TXT `key=value` attributes that fit the {@link TxtLimits} (others are skipped);
   * `undefined` when none does.
   */
  readonly meta?: Readonly<Record<string, string>> | undefined
}

/** Limits for TXT attributes turned into `meta`. */
export interface TxtLimits {
  /** Most attributes kept in `meta`; later ones are dropped. */
  maxMetaEntries: number
  /** Longest key kept, in characters; an attribute with a longer key is skipped. */
  maxMetaKeyLength: number
  /** Longest value kept, in characters; an attribute with a longer value is skipped. */
  maxMetaValueLength: number
}

const META_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Parses TXT character-strings as `key=value` attributes (RFC 1464 / RFC 6763 section 6) with the
 * shared parser (`parseTxt` of `@peer/discovery-dns/wire`): keys are case-insensitive and the first
 * occurrence wins; a string without `=` is a boolean attribute and is ignored, as is a string with
 * a bad key or a value with control characters. Returns the attributes and how many strings were
 * unusable.
 */
export function parseTxtAttributes(strings: readonly string[]): {
  attributes: Map<string, string>
  skipped: number
} {
  const { entries, problems } = parseTxt(strings)
  // boolean attributes are valid TXT but carry nothing here: counted as skipped, one per string
  let skipped = problems.length
  for (const s of strings) if (s !== '' && !s.includes('=') && TXT_KEY.test(s.toLowerCase())) skipped++
  return { attributes: entries, skipped }
}

/**
 * Reads a node's identity from the TXT strings of its SRV target (`id=<node id>`,
 * `name=<node name>`, other `key=value` pairs become `meta`) and/or from the target's first label
 * (`<node id>.<domain>`), as `source` says. Returns a reason string when no valid id is found or
 * the two disagree.
 */
export function identify(
  target: string,
  txt: readonly string[] | undefined,
  source: IdSource,
  limits: TxtLimits,
): NodeIdentity | string {
  const label = target.split('.')[0] ?? ''
  const labelId = isNodeId(label) ? label : undefined
  let txtId: string | undefined
  let name: string | undefined
  let meta: Record<string, string> | undefined
  if (source !== 'label' && txt !== undefined) {
    const { attributes } = parseTxtAttributes(txt)
    const rawId = attributes.get('id')
    if (rawId !== undefined) {
      if (!isNodeId(rawId)) return `TXT id of ${target} is not a node id`
      txtId = rawId
    }
    name = attributes.get('name')
    for (const [key, value] of attributes) {
      if (key === 'id' || key === 'name') continue
      if (key.length > limits.maxMetaKeyLength || !META_KEY.test(key)) continue
      if (value.length > limits.maxMetaValueLength) continue
      if (Object.keys(meta ?? {}).length >= limits.maxMetaEntries) break
      meta ??= {}
      meta[key] = value
    }
  }
  if (txtId !== undefined && labelId !== undefined && txtId !== labelId && source === 'txt-or-label') {
    return `TXT id and target label of ${target} name different nodes`
  }
  const id = source === 'label' ? labelId : source === 'txt' ? txtId : (txtId ?? labelId)
  if (id === undefined) {
    return source === 'label'
      ? `target ${target} does not start with a node id label`
      : source === 'txt'
        ? `target ${target} has no TXT id=<node id>`
        : `target ${target} has neither a TXT id=<node id> nor a node id label`
  }
  return { id, name, meta }
}

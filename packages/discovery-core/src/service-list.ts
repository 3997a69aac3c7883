import { quote } from './describe-value.js'
import { PeerError } from './errors.js'

/**
 * The named services a node provides, carried in its discovery record's `meta` under
 * {@link SERVICES_META_KEY} as one comma-separated value (`"kv,billing.v2,search-eu"`), so every
 * backend that carries `meta` carries it (etcd values, mDNS and DNS TXT strings, static lists).
 *
 * - A service name is 1-{@link MAX_SERVICE_NAME_LENGTH} characters of `a-z`, `0-9`, `.`, `_` and
 *   `-`, starting with a letter or a digit ({@link isServiceName}).
 * - A list holds at most {@link MAX_SERVICES} names, and its encoded value at most
 *   {@link MAX_SERVICE_LIST_LENGTH} characters (the record's limit for a meta value, and what fits a
 *   DNS-SD TXT string with its key).
 * - Local input ({@link encodeServiceList}) throws {@link InvalidServiceNameError} or
 *   {@link ServiceListTooLargeError}. Input from the network ({@link decodeServiceList}) never
 *   throws: a bad name is dropped and counted, a list that is too large (too long, too many names)
 *   is dropped whole and counted.
 */
export const SERVICES_META_KEY = 'services'
/** Longest service name. */
export const MAX_SERVICE_NAME_LENGTH = 63
/** Most names in one node's list. */
export const MAX_SERVICES = 32
/** Longest encoded list (the default record limit for one meta value). */
export const MAX_SERVICE_LIST_LENGTH = 255

const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]*$/

/** A service name that is not of the grammar (see {@link isServiceName}). */
export class InvalidServiceNameError extends PeerError {
  constructor(
    /** The rejected name (a value that was not a string, converted with `String`). */
    readonly service: string,
    options?: ErrorOptions,
  ) {
    super(
      `invalid service name ${quote(String(service).slice(0, 80))}: 1-${MAX_SERVICE_NAME_LENGTH} characters of a-z, 0-9, '.', '_', '-', starting with a letter or a digit`,
      options,
    )
    this.name = 'InvalidServiceNameError'
  }
}

/**
 * A list with more than {@link MAX_SERVICES} names or longer than {@link MAX_SERVICE_LIST_LENGTH}
 * encoded.
 */
export class ServiceListTooLargeError extends PeerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ServiceListTooLargeError'
  }
}

/** Whether `value` is a valid service name. */
export function isServiceName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SERVICE_NAME_LENGTH && SERVICE_NAME.test(value)
}

/** Throws {@link InvalidServiceNameError} unless `value` is a valid service name. */
export function assertServiceName(value: unknown): asserts value is string {
  if (!isServiceName(value)) throw new InvalidServiceNameError(String(value))
}

/**
 * The meta value for `names` (sorted, duplicates removed), or `undefined` for no names. Throws
 * {@link InvalidServiceNameError} or {@link ServiceListTooLargeError}.
 */
export function encodeServiceList(names: Iterable<string>): string | undefined {
  const set = new Set<string>()
  for (const name of names) {
    assertServiceName(name)
    set.add(name)
  }
  if (set.size === 0) return undefined
  if (set.size > MAX_SERVICES) {
    throw new ServiceListTooLargeError(`at most ${MAX_SERVICES} services per node, got ${set.size}`)
  }
  const value = [...set].sort().join(',')
  if (value.length > MAX_SERVICE_LIST_LENGTH) {
    throw new ServiceListTooLargeError(
      `the service list is ${value.length} characters encoded, above ${MAX_SERVICE_LIST_LENGTH}`,
    )
  }
  return value
}

/** What {@link decodeServiceList} found in a record from the network. */
export interface DecodedServiceList {
  /** The valid names, sorted, without duplicates. */
  readonly services: readonly string[]
  /** Names dropped because they were not of the grammar (empty entries included). */
  readonly droppedNames: number
  /** Whether the whole list was dropped (not a string, too long, or too many names). */
  readonly droppedList: boolean
}

const EMPTY: DecodedServiceList = Object.freeze({
  services: Object.freeze([]),
  droppedNames: 0,
  droppedList: false,
})

/**
 * Decodes a meta value read from the network (`undefined` = no list). Never throws: bad names
 * are dropped and counted in `droppedNames`; a value that is not a string, is longer than
 * {@link MAX_SERVICE_LIST_LENGTH} or holds more than {@link MAX_SERVICES} entries is dropped whole
 * (`droppedList`).
 */
export function decodeServiceList(value: unknown): DecodedServiceList {
  if (value === undefined) return EMPTY
  if (typeof value !== 'string' || value.length > MAX_SERVICE_LIST_LENGTH) {
    return { services: [], droppedNames: 0, droppedList: true }
  }
  if (value === '') return EMPTY
  const parts = value.split(',')
  if (parts.length > MAX_SERVICES) return { services: [], droppedNames: 0, droppedList: true }
  const set = new Set<string>()
  let droppedNames = 0
  for (const part of parts) {
    if (isServiceName(part)) set.add(part)
    else droppedNames++
  }
  return { services: [...set].sort(), droppedNames, droppedList: false }
}

/** The service list in a record's `meta` (see {@link decodeServiceList}). */
export function servicesOf(record: {
  readonly meta?: Readonly<Record<string, string>> | undefined
}): DecodedServiceList {
  const meta = record.meta
  if (meta === undefined || !Object.hasOwn(meta, SERVICES_META_KEY)) return EMPTY
  return decodeServiceList(meta[SERVICES_META_KEY])
}

/** What {@link checkServiceMeta} did to a record's `meta`. */
export interface CheckedServiceMeta {
  /** The meta with the service list cleaned (the same object when nothing was dropped). */
  readonly meta: Readonly<Record<string, string>> | undefined
  /** Names dropped because they were not of the grammar. */
  readonly droppedNames: number
  /** Whether the whole list was dropped (too long, or too many names). */
  readonly droppedList: boolean
}

/**
 * For a backend reading records from the network: the record's `meta` with its service list
 * ({@link SERVICES_META_KEY}) decoded as {@link decodeServiceList} does: bad names are removed, a
 * list that is too large is removed whole, and the key goes when no valid name is left. Returns
 * what was dropped, for the backend to count. Never throws.
 */
export function checkServiceMeta(meta: Readonly<Record<string, string>> | undefined): CheckedServiceMeta {
  if (meta === undefined || !Object.hasOwn(meta, SERVICES_META_KEY))
    return { meta, droppedNames: 0, droppedList: false }
  const decoded = decodeServiceList(meta[SERVICES_META_KEY])
  if (decoded.droppedNames === 0 && !decoded.droppedList) {
    return { meta, droppedNames: 0, droppedList: false }
  }
  const { [SERVICES_META_KEY]: _dropped, ...rest } = meta
  const cleaned =
    decoded.services.length > 0 ? { ...rest, [SERVICES_META_KEY]: decoded.services.join(',') } : rest
  return {
    meta: Object.keys(cleaned).length > 0 ? cleaned : undefined,
    droppedNames: decoded.droppedNames,
    droppedList: decoded.droppedList,
  }
}

/** What {@link checkServiceInput} dropped from untrusted record input. @internal */
export interface CheckedServiceInput {
  /** The input with its service list cleaned. */
  readonly input: object
  /** The raw `meta.services` value (to count each distinct value once). */
  readonly raw: unknown
  readonly droppedNames: number
  readonly droppedList: boolean
}

/**
 * For a backend's untrusted record input (before validation): when its `meta` holds a service
 * list with names to drop, the input with the list cleaned as {@link checkServiceMeta} does, and
 * what was dropped; `undefined` when there is nothing to drop (or no meta object to look at: the
 * record validation judges that). Never throws. @internal (used by `AbstractDiscoveryBackend`)
 */
export function checkServiceInput(input: unknown): CheckedServiceInput | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  const meta = (input as { meta?: unknown }).meta
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined
  if (!Object.hasOwn(meta, SERVICES_META_KEY)) return undefined
  const checked = checkServiceMeta(meta as Readonly<Record<string, string>>)
  if (checked.droppedNames === 0 && !checked.droppedList) return undefined
  return {
    input: { ...input, meta: checked.meta },
    raw: (meta as Record<string, unknown>)[SERVICES_META_KEY],
    droppedNames: checked.droppedNames,
    droppedList: checked.droppedList,
  }
}

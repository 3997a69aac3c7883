// How `Discovery` calls backends it did not write. The interface may be implemented without the
// base class (a plain object with an EventTarget, in JavaScript), so: the members it needs are
// checked once, at construction (a missing `lookup` or `started` is a ConfigError that names it,
// not a TypeError later or a backend silently never asked); a call that throws synchronously is
// a rejection like any other; and a raw backend's `lookup` answer is validated as its events are.

import { validatesRecords } from './backend-events.js'
import type { DiscoveryBackend } from './discovery-backend.js'
import { type PeerRecord, validatePeerRecord } from './peer-record.js'

const METHODS = ['start', 'stop', 'lookup', 'addEventListener', 'removeEventListener'] as const

/**
 * The members of {@link DiscoveryBackend} that `backend` lacks or has of the wrong kind, as
 * short phrases (`"lookup is not a function"`); empty when it has them all. @internal
 */
export function backendShapeProblems(backend: unknown): string[] {
  if (typeof backend !== 'object' || backend === null) return ['not an object']
  const b = backend as Record<string, unknown>
  const problems: string[] = []
  if (typeof b.source !== 'string' || b.source === '') problems.push('source is not a non-empty string')
  const caps = b.capabilities as { has?: unknown; [Symbol.iterator]?: unknown } | null | undefined
  if (typeof caps?.has !== 'function' || typeof caps[Symbol.iterator] !== 'function')
    problems.push('capabilities is not a Set')
  if (typeof b.started !== 'boolean') problems.push('started is not a boolean')
  for (const m of METHODS) if (typeof b[m] !== 'function') problems.push(`${m} is not a function`)
  return problems
}

/** Calls `fn`; a synchronous throw becomes a rejection, a plain value a resolved promise. @internal */
export async function callBackend<T>(fn: () => T | Promise<T>): Promise<T> {
  return await fn()
}

/**
 * What `lookup` of `backend` answered, as `Discovery` may trust it: `undefined` for a miss
 * (`null` included), the record itself from a backend that validates its own records, a validated
 * copy (with the backend's source) from any other. Throws `InvalidPeerRecordError` for a record
 * that is not valid. @internal
 */
export function lookupAnswer(answer: unknown, backend: DiscoveryBackend): PeerRecord | undefined {
  if (answer === undefined || answer === null) return undefined
  if (validatesRecords(backend)) return answer as PeerRecord
  return validatePeerRecord({ ...(answer as object), source: backend.source })
}

// The events of one backend as `Discovery` reads them. A backend not built on
// AbstractDiscoveryBackend (a user's own, perhaps on a plain EventTarget) is not trusted to send
// well-formed events: its records are validated here (with its source as their provenance), and
// an event that still breaks a handler is reported, never thrown: on a plain EventTarget a
// throwing listener is an uncaught exception, which would end the process.

import type { DiscoveryBackend, PeerDiscoveredDetail, PeerLostReason } from './discovery-backend.js'
import { errorMessage } from './errors.js'
import { type PeerRecord, validatePeerRecord } from './peer-record.js'
import { subscribe } from './subscribe.js'

/**
 * Set (true) on a backend whose events carry only records it validated itself (every backend on
 * `AbstractDiscoveryBackend`, with its own `recordLimits`): `Discovery` validates the records of
 * any other backend before it trusts their shape. @internal
 */
export const VALIDATES_RECORDS: unique symbol = Symbol.for('peer.validatesRecords')

/**
 * The record id an event of a backend carries (`detail.record.id`), or `undefined` when its
 * detail has another shape (a backend not on the base class may send anything). @internal
 */
export function eventRecordId(event: Event): string | undefined {
  const id = ((event as CustomEvent<unknown>).detail as { record?: { id?: unknown } } | null)?.record?.id
  return typeof id === 'string' ? id : undefined
}

/** Whether `backend` validates its own records (see {@link VALIDATES_RECORDS}). @internal */
export function validatesRecords(backend: DiscoveryBackend): boolean {
  return (backend as Partial<Record<typeof VALIDATES_RECORDS, boolean>>)[VALIDATES_RECORDS] === true
}

/** Where the events of a backend go. @internal */
export interface BackendEventSink {
  found(record: PeerRecord, source: string): void
  lost(id: string, source: string, reason: PeerLostReason): void
  failed(source: string, error: unknown): void
  /** A record (or an event) of the backend that was not valid: dropped. */
  invalid(source: string, error: unknown): void
}

/** Subscribes `sink` to `backend`'s events; returns the unsubscriber. @internal */
export function subscribeBackend(backend: DiscoveryBackend, sink: BackendEventSink): () => void {
  const source = backend.source
  const checked = validatesRecords(backend)
  const onFound = (event: CustomEvent<PeerDiscoveredDetail>) => {
    const raw = (event.detail as { record?: unknown } | null | undefined)?.record
    if (checked) {
      sink.found(raw as PeerRecord, source)
      return
    }
    let record: PeerRecord
    try {
      record = validatePeerRecord({ ...(raw as object), source })
    } catch (error) {
      sink.invalid(source, error)
      return
    }
    sink.found(record, source)
  }
  return subscribe(
    backend,
    {
      'peer:discovered': onFound,
      'peer:updated': onFound,
      'peer:lost': (event) => {
        const id = eventRecordId(event)
        if (id !== undefined) sink.lost(id, source, event.detail.reason ?? 'removed')
        else sink.invalid(source, new Error('a peer:lost event without a record id'))
      },
      'discovery:error': (event) => sink.failed(source, event.detail?.error),
    },
    (error, type) =>
      sink.failed(source, new Error(`a ${type} event broke its handler: ${errorMessage(error)}`)),
  )
}

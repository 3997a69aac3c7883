// PeerRegistry's subscriptions to its discovery source and trust store.

import { type PeerDiscoveredDetail, type PeerRecord, subscribe } from '@peer/discovery-core'
import { type ListenerTarget, whenEvent } from '@peer/discovery-core/internal'
import type { PeerSource, TrustStore } from './interfaces.js'

/** The registry's handlers of discovery and trust events. @internal */
export interface SourceHandlers {
  discovered(record: PeerRecord, source: string, fresh: boolean): void
  lost(id: string, source: string, reason: string): void
  /** A trust change without an id: the whole list is applied again. */
  refresh(): void
  trustAdded(id: string): void
  trustRemoved(id: string): void
  /** An event of the discovery source that broke its handler (its shape was not a record's). */
  malformed(type: string, error: unknown): void
}

/** Subscribes `handlers` to `discovery` and `trust`; returns the unsubscribers. @internal */
export function subscribeSources(
  discovery: PeerSource | undefined,
  trust: TrustStore | ((id: string) => boolean),
  handlers: SourceHandlers,
): Array<() => void> {
  const unsubscribe: Array<() => void> = []
  if (discovery !== undefined) {
    const onFound = (fresh: boolean) => (event: CustomEvent<PeerDiscoveredDetail>) =>
      handlers.discovered(event.detail.record, event.detail.source, fresh)
    // the source may be a user's backend on a plain EventTarget, where a throwing listener is an
    // uncaught exception: an event of another shape is reported instead
    unsubscribe.push(
      subscribe(
        discovery,
        {
          'peer:discovered': onFound(true),
          'peer:updated': onFound(false),
          'peer:lost': (event) =>
            handlers.lost(event.detail.record.id, event.detail.source, event.detail.reason),
        },
        (error, type) => handlers.malformed(type, error),
      ),
    )
  }
  if (typeof trust !== 'function' && typeof trust.addEventListener === 'function') {
    // one listener per type on a trust list that many registries share (nodes in one process)
    const target = trust as ListenerTarget
    unsubscribe.push(
      whenEvent(target, 'trust:added', (event) => {
        const id = changedId(event)
        if (id === undefined) handlers.refresh()
        else handlers.trustAdded(id)
      }),
      whenEvent(target, 'trust:removed', (event) => {
        const id = changedId(event)
        if (id === undefined) handlers.refresh()
        else handlers.trustRemoved(id)
      }),
      whenEvent(target, 'change', () => handlers.refresh()),
    )
  }
  return unsubscribe
}

function changedId(event: Event): string | undefined {
  const detail = (event as CustomEvent<unknown>).detail as
    | { entry?: { id?: unknown }; id?: unknown }
    | undefined
  const id = detail?.entry?.id ?? detail?.id
  return typeof id === 'string' ? id : undefined
}

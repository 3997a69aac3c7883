// Which dial failures another dial would repeat (a wrong id at the address, a target that refuses
// this identity): `peer ping` ends its wait for a peer at the first of them, with its reason.

import { subscribe } from '@peer/discovery-core'
import type { PeerNode } from '@peer/node'

/** Dial errors another dial would repeat: a wrong id at the address, a target that refuses us. */
const DECISIVE_DIAL_ERRORS = new Set(['PinningError', 'UntrustedPeerError'])

/**
 * Whether `error` (or every address's error of an aggregate) is one another dial would repeat.
 * @internal
 */
export function isDecisive(error: Error): boolean {
  if (error instanceof AggregateError)
    return error.errors.length > 0 && error.errors.every((e) => e instanceof Error && isDecisive(e))
  return DECISIVE_DIAL_ERRORS.has(error.name)
}

/** Whether the target (at some address) refused this identity. @internal */
export function refusedUs(error: Error): boolean {
  if (error instanceof AggregateError) return error.errors.some((e) => e instanceof Error && refusedUs(e))
  return error.name === 'UntrustedPeerError'
}

/**
 * Calls `onDecisive(id, error)` for each failed dial of `node` that another dial would repeat
 * (see {@link isDecisive}); returns the unsubscriber. @internal
 */
export function watchDecisiveDials(
  node: PeerNode,
  onDecisive: (id: string, error: Error) => void,
): () => void {
  return subscribe(node, {
    'peer:dial-failed': (event) => {
      if (isDecisive(event.detail.error)) onDecisive(event.detail.id, event.detail.error)
    },
  })
}

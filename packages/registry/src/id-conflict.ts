// Two live nodes with one id (a copied identity file, an overlapping redeploy) both dial us and
// replace each other's connection, back and forth between their two addresses, for as long as
// both run. A pure function of the replacements a peer's entry has seen tells that apart from the
// replacements one node causes (a restart, simultaneous dials, a stall probe).
import { formatHostPort } from '@peer/discovery-core'
import { addressKey } from './address-book.js'
import type { ConnectionDirection, RegistryConnection } from './interfaces.js'

/** A replacement back to the address replaced this recently is an id conflict (ms). */
export const ID_CONFLICT_WINDOW_MS = 60_000

/** What an entry remembers of its last replacement: the address replaced, and when. @internal */
export interface ReplacedFrom {
  readonly address: string
  readonly at: number
}

/** One side of a replacement. @internal */
export interface ReplacementEnd {
  readonly direction: ConnectionDirection | undefined
  readonly connection: RegistryConnection
}

/**
 * Judges a replacement of `previous` by `next` at `now`, given what the entry remembered: a
 * conflict when both are inbound, from different addresses, and `next` comes from the address
 * replaced last time, within {@link ID_CONFLICT_WINDOW_MS}. Returns the verdict and what to
 * remember. Only inbound replacements count: our own dial and the peer's come from two addresses
 * of one node (its listener, its client endpoint), and a stall probe or a simultaneous dial
 * alternates between them. A restarted peer replaces its old connection once (from the same or a
 * new address) and never goes back. @internal
 */
export function judgeReplacement(
  last: ReplacedFrom | undefined,
  previous: ReplacementEnd,
  next: ReplacementEnd,
  now: number,
): { conflict: boolean; remember: ReplacedFrom | undefined; addresses: [string, string] | undefined } {
  const from = previous.connection.remoteAddress
  const to = next.connection.remoteAddress
  if (previous.direction !== 'inbound' || next.direction !== 'inbound' || !from || !to) {
    return { conflict: false, remember: undefined, addresses: undefined }
  }
  const fromKey = addressKey(from)
  const toKey = addressKey(to)
  if (fromKey === toKey) return { conflict: false, remember: undefined, addresses: undefined }
  const conflict = last !== undefined && last.address === toKey && now - last.at <= ID_CONFLICT_WINDOW_MS
  const addresses: [string, string] = [formatHostPort(from.host, from.port), formatHostPort(to.host, to.port)]
  return { conflict, remember: { address: fromKey, at: now }, addresses }
}

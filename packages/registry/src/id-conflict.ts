// Two live nodes with one id (a copied identity file, an overlapping redeploy) both dial us and
// replace each other's connection, back and forth, for as long as both run. A pure function of the
// replacements a peer's entry has seen tells that apart from the replacements one healthy node
// causes (a restart now and then, simultaneous dials, a stall probe).
import { formatHostPort } from '@peer/discovery-core'
import type { ConnectionDirection, RegistryConnection } from './interfaces.js'

/** Inbound replacements this close together... (ms) */
export const ID_CONFLICT_WINDOW_MS = 30_000
/** ...this many of them, and the peer is flagged. */
export const ID_CONFLICT_REPLACEMENTS = 3

/** What an entry remembers of its recent inbound replacements: when they happened. @internal */
export type ReplacementTimes = readonly number[]

/** One side of a replacement. @internal */
export interface ReplacementEnd {
  readonly direction: ConnectionDirection | undefined
  readonly connection: RegistryConnection
}

/**
 * Judges a replacement of `previous` by `next` at `now`, given the times of the entry's recent
 * inbound replacements: a conflict when both connections are inbound and this makes
 * {@link ID_CONFLICT_REPLACEMENTS} within {@link ID_CONFLICT_WINDOW_MS}. Returns the verdict and
 * the times to remember (at most that many). Only inbound replacements count: our own dial and
 * the peer's alternate between two addresses of one node when a stall probe or a simultaneous
 * dial replaces a connection. Addresses cannot tell the copies apart (an engine may dial each
 * time from a new port); the rate does: a restarted peer replaces its old connection once, and
 * two copies do it every time the other redials. A peer that restarts or redials in a loop is
 * flagged too. @internal
 */
export function judgeReplacement(
  recent: ReplacementTimes | undefined,
  previous: ReplacementEnd,
  next: ReplacementEnd,
  now: number,
): { conflict: boolean; remember: ReplacementTimes | undefined } {
  if (previous.direction !== 'inbound' || next.direction !== 'inbound')
    return { conflict: false, remember: recent }
  const times = [...(recent ?? []).filter((t) => now - t <= ID_CONFLICT_WINDOW_MS), now].slice(
    -ID_CONFLICT_REPLACEMENTS,
  )
  return { conflict: times.length >= ID_CONFLICT_REPLACEMENTS, remember: times }
}

/** The remote addresses of a replacement, for the log line. @internal */
export function replacementAddresses(previous: ReplacementEnd, next: ReplacementEnd): string[] {
  return [previous, next].map((end) => {
    const a = end.connection.remoteAddress
    return a === undefined ? 'unknown' : formatHostPort(a.host, a.port)
  })
}

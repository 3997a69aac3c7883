// Which connection a peer keeps when a new one arrives (simultaneous dials, redials): a pure
// function of the inputs, used by PeerRegistry's adopt.

import type { ConnectionDirection } from './interfaces.js'

/** The inputs of {@link arbitrate}. @internal */
export interface ArbitrationInput {
  /** This node's id. */
  readonly self: string
  /** The peer's id. */
  readonly remote: string
  /** How the new connection was made. */
  readonly direction: ConnectionDirection
  /** True while our own dial to the peer is in flight. */
  readonly dialInFlight: boolean
  /**
   * How long our dial's current attempt has been running (ms), when one is in flight and known. An
   * attempt older than {@link ArbitrationInput.staleDialMs} that has not committed no longer wins a
   * tie.
   */
  readonly dialAgeMs?: number
  /**
   * False when our dial's current attempt is known not to have committed (the transport reports
   * commits, and this one has not): only such an attempt can be stale. A committed attempt may
   * already be the remote's connection (its dial lost the tie to ours there), so it always wins;
   * undefined (unknown) counts as committed.
   */
  readonly dialCommitted?: boolean
  /**
   * An attempt running this long (ms) is taken to wait on handshake retransmissions: the peer was
   * down when it started, or our path to it is (the inbound proves the peer is up and reaches us).
   * Undefined: our dial always wins the tie.
   */
  readonly staleDialMs?: number
  /** The peer's live connection (another one than the new), if any. */
  readonly existing?: {
    readonly direction: ConnectionDirection | undefined
    readonly connectedAt: number | undefined
  }
  /** The current time (ms, `Date.now()`). */
  readonly now: number
  /** How long after a connect a crossing inbound counts as simultaneous (ms). */
  readonly windowMs: number
}

/**
 * The verdict on a new connection: `adopt` (no live one: take it), `dial-wins` (no live one, but
 * our dial in flight wins the tie: close the new one), `replace` (keep the new, close the live
 * one), or `duplicate` (keep the live one, close the new). @internal
 */
export type ArbitrationVerdict = 'adopt' | 'dial-wins' | 'replace' | 'duplicate'

/**
 * With no live connection the new one is adopted, except an inbound one arriving while our own
 * dial is in flight and ours wins the tie (unless that dial's attempt is stale and has not
 * committed: then the inbound is adopted and our dial given up, and the remote never sees it).
 * With a live one: an outbound arrival, or an inbound within the simultaneous window, keeps the
 * connection dialed by the lower id; a later inbound replaces the live one. @internal
 */
export function arbitrate(input: ArbitrationInput): ArbitrationVerdict {
  const { direction, existing } = input
  const selfWins = input.self < input.remote
  if (existing === undefined) {
    const stale =
      input.dialCommitted === false &&
      input.staleDialMs !== undefined &&
      input.dialAgeMs !== undefined &&
      input.dialAgeMs >= input.staleDialMs
    return direction === 'inbound' && input.dialInFlight && selfWins && !stale ? 'dial-wins' : 'adopt'
  }
  let keepNew: boolean
  const existingDir = existing.direction ?? 'outbound'
  const simultaneous = direction === 'outbound' || input.now - (existing.connectedAt ?? 0) < input.windowMs
  if (!simultaneous || existingDir === direction) {
    keepNew = direction === 'inbound' // the remote redialed: it no longer has the old one
  } else {
    // the connection dialed by the lower id wins: ours is the outbound one
    keepNew = (direction === 'outbound') === selfWins
  }
  return keepNew ? 'replace' : 'duplicate'
}

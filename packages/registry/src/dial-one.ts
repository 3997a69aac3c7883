// One dial of one address of a peer, pinned to its id, with the dial timeout and (for a lost
// connection or a stall) probing attempts. Moved out of PeerRegistry.

import { abortErrorFor, type Logger, raceSignal } from '@peer/discovery-core'
import { linkSignals, settleWithin } from '@peer/discovery-core/internal'
import type { AddressEntry } from './address-book.js'
import { safeClose } from './connections.js'
import { DialTimeoutError, PeerIdMismatchError } from './errors.js'
import type { RegistryConnection, RegistryTransport } from './interfaces.js'
import { probe } from './probe.js'

/** What {@link dialOne} uses. @internal */
export interface DialContext<C extends RegistryConnection> {
  readonly transport: RegistryTransport<C>
  readonly dialTimeoutMs: number
  readonly stats: { dialTimeouts: number; pinMismatches: number }
  readonly log: Logger
}

/** How long an aborted dial may keep its slot while the transport winds it down. */
const ABANDON_GRACE_MS = 1000

/** What {@link dialOne} tells its caller about the attempts. @internal */
export interface DialProgress {
  /** An attempt starts. */
  onAttempt?: () => void
  /** The attempt committed (RegistryDialOptions.onCommit). */
  onCommit?: () => void
}

/**
 * Dials `address`, expecting `id`; probing attempts of `probeMs` each when it is above 0 (an
 * attempt that committed is not cut). @internal
 */
export async function dialOne<C extends RegistryConnection>(
  ctx: DialContext<C>,
  id: string,
  address: AddressEntry,
  parent: AbortSignal,
  probeMs: number,
  progress: DialProgress = {},
): Promise<C> {
  const deadline = linkSignals([parent], ctx.dialTimeoutMs)
  const signal = deadline.signal
  let committed = false
  const attempt = (attemptSignal: AbortSignal) => {
    committed = false
    progress.onAttempt?.()
    return ctx.transport.dial(
      { host: address.host, port: address.port },
      {
        expectedId: id,
        signal: attemptSignal,
        onCommit: () => {
          committed = true
          progress.onCommit?.()
        },
      },
    )
  }
  const dialing =
    probeMs > 0
      ? probe(
          attempt,
          probeMs,
          signal,
          (late) => safeClose(late, 'dial abandoned', ctx.log),
          () => committed,
        )
      : attempt(signal)
  let conn: C
  try {
    conn = await raceSignal(dialing, signal)
  } catch (error) {
    // a transport that ignores the signal may still connect: close what arrives late
    dialing.then((late) => safeClose(late, 'dial abandoned', ctx.log)).catch(() => {})
    // keep the dial slot until the transport has given up too (bounded, for transports that
    // never settle), so `maxConcurrentDials` bounds real handshakes, not just our bookkeeping
    if (signal.aborted)
      await settleWithin(
        dialing.catch(() => {}),
        ABANDON_GRACE_MS,
      )
    if (deadline.timedOut && !parent.aborted) {
      ctx.stats.dialTimeouts++
      throw new DialTimeoutError(
        `dial to ${address.host}:${address.port} timed out after ${ctx.dialTimeoutMs} ms`,
        {
          cause: error,
        },
      )
    }
    if (parent.aborted) throw abortErrorFor(parent)
    throw error
  } finally {
    deadline.release()
  }
  if (conn.remoteId !== id) {
    ctx.stats.pinMismatches++
    safeClose(conn, 'unexpected peer id', ctx.log)
    throw new PeerIdMismatchError(id, conn.remoteId)
  }
  return conn
}

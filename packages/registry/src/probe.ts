// Probing dials: after a peer's connection was lost, a dial that hangs (the path is down and the
// handshake's retransmissions back off ever longer) is cut after a short attempt and started
// afresh, one at a time, so a path that comes back is found within about one attempt instead of
// after the next retransmission. Attempts run one after the other, so only one handshake per peer
// is ever in flight (and one UDP flow: relays and NATs keep a single mapping).
import { raceSignal } from '@peer/discovery-core'
import { linkSignals, settleWithin } from '@peer/discovery-core/internal'

/** How long an abandoned attempt may take to wind down before the next one starts. */
const WIND_DOWN_MS = 1000

/**
 * Runs `attempt` for at most `attemptMs`, again and again, until one connects, one fails on its
 * own (the remote answered: refused, wrong id — final), or `signal` aborts. An attempt for which
 * `committed()` is true when its time is up is not cut (the remote may already hold its
 * connection): it runs until it settles or `signal` aborts. Connections from an abandoned attempt
 * that arrive late go to `discard`.
 */
export async function probe<C>(
  attempt: (signal: AbortSignal) => Promise<C>,
  attemptMs: number,
  signal: AbortSignal,
  discard: (late: C) => void,
  committed: () => boolean = () => false,
): Promise<C> {
  for (;;) {
    signal.throwIfAborted()
    const cutter = new AbortController()
    const cut = cutter.signal
    const timer = setTimeout(() => {
      if (!committed()) cutter.abort(new DOMException('The probing attempt timed out', 'TimeoutError'))
    }, attemptMs)
    const linked = linkSignals([signal, cut])
    const own = linked.signal
    let dialing: Promise<C>
    try {
      dialing = attempt(own)
    } catch (error) {
      dialing = Promise.reject(error)
    }
    try {
      return await raceSignal(dialing, own)
    } catch (error) {
      dialing.then(discard, () => {})
      if (signal.aborted || !cut.aborted) throw error
      // the attempt was cut: let it wind down, then start afresh
      await settleWithin(
        dialing.catch(() => {}),
        WIND_DOWN_MS,
      )
    } finally {
      clearTimeout(timer)
      linked.release()
    }
  }
}

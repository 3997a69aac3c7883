// The addresses of one dial of a peer, staggered (as Happy Eyeballs does, RFC 8305): the next
// address is tried when the one before fails or has not answered within NEXT_ADDRESS_AFTER_MS,
// so an address that is down (a bridge interface, an IPv6 address without a route) costs a second,
// not a whole dial timeout. At most one attempt ever reaches the remote: the first that commits
// (RegistryDialOptions.onCommit) aborts the others, which have not, and so never reach the
// remote's application (the transport's contract); without commit reports, one address at a time.

import { linkSignals, toError } from '@peer/discovery-core/internal'
import type { AddressEntry } from './address-book.js'
import { safeClose } from './connections.js'
import { type DialContext, type DialProgress, dialOne } from './dial-one.js'
import type { RegistryConnection } from './interfaces.js'

/** How long an address may go unanswered before the next one is tried beside it. */
export const NEXT_ADDRESS_AFTER_MS = 1000

/** One address's failure, in the order the addresses were tried. @internal */
export interface AddressFailure {
  readonly address: AddressEntry
  readonly error: Error
}

/** What {@link raceAddresses} ends with: a connection and its address, or none. @internal */
export type RaceResult<C> = { readonly conn: C; readonly address: AddressEntry } | { readonly conn?: never }

/**
 * Dials `id` on `addresses` (best first), staggered when the transport reports commits, and
 * resolves with the first connection (the other attempts aborted, a late one closed) or, when
 * every address failed or `signal` aborted, with none; each address's failure is passed to
 * `onFailure` as it happens, in the order they fail. Never rejects. @internal
 */
export function raceAddresses<C extends RegistryConnection>(
  ctx: DialContext<C>,
  id: string,
  addresses: readonly AddressEntry[],
  signal: AbortSignal,
  probeMs: number,
  progress: DialProgress,
  staggered: boolean,
  onFailure: (failure: AddressFailure) => void = () => {},
): Promise<RaceResult<C>> {
  return new Promise((resolve) => {
    const queue = [...addresses]
    const attempts = new Map<AbortController, AddressEntry>()
    /** The attempt that committed, while it is in flight: no other may start or go on. */
    let committed: AbortController | undefined
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const finish = (result: RaceResult<C>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const own of attempts.keys()) own.abort()
      resolve(result)
    }
    const launch = () => {
      clearTimeout(timer)
      timer = undefined
      if (settled) return
      if (signal.aborted || committed !== undefined || queue.length === 0) {
        if (attempts.size === 0) finish({})
        return
      }
      if (!staggered && attempts.size > 0) return
      const address = queue.shift()!
      const own = new AbortController()
      const linked = linkSignals([signal, own.signal])
      attempts.set(own, address)
      const onCommit = () => {
        committed = own
        // the others have not committed: aborted now, they never reach the remote; their
        // addresses go back in the queue, in case this one still fails
        for (const [other, otherAddress] of attempts) {
          if (other === own) continue
          attempts.delete(other)
          other.abort()
          queue.unshift(otherAddress)
        }
        clearTimeout(timer)
        progress.onCommit?.()
      }
      dialOne(ctx, id, address, linked.signal, probeMs, { onAttempt: progress.onAttempt, onCommit }).then(
        (conn) => {
          linked.release()
          attempts.delete(own)
          if (settled || own.signal.aborted) {
            safeClose(conn, 'dial abandoned', ctx.log)
            return
          }
          finish({ conn, address })
        },
        (error: unknown) => {
          linked.release()
          const cut = own.signal.aborted && !signal.aborted
          attempts.delete(own)
          if (committed === own) committed = undefined
          if (settled || cut) return
          const failure = { address, error: toError(error) }
          onFailure(failure)
          launch()
        },
      )
      if (staggered && queue.length > 0) {
        timer = setTimeout(launch, NEXT_ADDRESS_AFTER_MS)
        timer.unref?.()
      }
    }
    launch()
  })
}

// `peer ping <name>`: which discovered peer a name means. Discovery is a hint: an untrusted peer
// with the name, reported first (mDNS answers arrive in any order; an attacker on the link can
// answer first on purpose), must not end a ping that a trusted peer with the same name, reported
// a moment later, would answer. Only a name that stays an untrusted peer's for a grace period is
// an answer at once ("not in the trust list: add it"), before the ping's own time limit.
import { type Discovery, type MergedPeerRecord, subscribe } from '@peer/discovery-core'
import { nameMatch } from '@peer/discovery-core/internal'

/** How long a name only untrusted peers have is given for a trusted peer to be reported with it. */
export const STRANGER_GRACE_MS = 1500

/** What {@link watchName} reports. */
export interface NameWatchHandlers {
  /** The one trusted peer with the name (called again if discovery changes its mind). */
  onTarget(id: string): void
  /** Only `stranger`, untrusted, had the name for the whole grace period (called once). */
  onStranger(stranger: MergedPeerRecord): void
}

/**
 * Watches `discovery` for peers named `name` (a full `app@host` or a short `app`): reports the
 * trusted one as the target, or, when only untrusted peers have the name for `graceMs`, the first
 * of them. Returns a function that stops watching (and the grace timer).
 */
export function watchName(
  discovery: Discovery,
  name: string,
  trusted: (id: string) => boolean,
  handlers: NameWatchHandlers,
  graceMs = STRANGER_GRACE_MS,
): () => void {
  let timer: NodeJS.Timeout | undefined
  let done = false
  const named = () => discovery.snapshot().filter((r) => nameMatch(r.name, name) !== undefined)
  const decide = (final: boolean) => {
    if (done) return
    const all = named()
    const mine = all.filter((r) => trusted(r.id))
    if (mine.length === 1) handlers.onTarget(mine[0]!.id)
    const stranger = all.find((r) => !trusted(r.id))
    if (mine.length > 0 || stranger === undefined) {
      clearTimeout(timer)
      timer = undefined
      return
    }
    if (final) {
      done = true
      handlers.onStranger(stranger)
    } else if (timer === undefined) {
      timer = setTimeout(() => decide(true), graceMs)
      timer.unref?.()
    }
  }
  const off = subscribe(discovery, {
    'peer:discovered': () => decide(false),
    'peer:updated': () => decide(false),
  })
  decide(false)
  return () => {
    done = true
    clearTimeout(timer)
    off()
  }
}

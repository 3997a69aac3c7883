// The liveness probe of one link: when the peer is suspected (discovery lost it, or a request or
// ping to it timed out) the link sends one ping on the control lane and waits a bounded time for
// its pong. Discovery is only a hint: a suspicion costs one ping, and only a missing answer, never
// the hint itself, takes a connection down.

import { MAX_REQUEST_ID } from './envelope.js'

/** The ping id the liveness probe uses (reserved: requests and pings never get it). */
export const PROBE_PING_ID = MAX_REQUEST_ID - 1

/** Why a link was probed. */
export type ProbeTrigger = 'member-left' | 'request-timeout'

/**
 * How a probe ended: `answered` (its pong arrived in time), `unanswered` (the time limit passed
 * first) or `closed` (the link ended before either).
 */
export type ProbeOutcome = 'answered' | 'unanswered' | 'closed'

/**
 * At most one probe in flight per link: {@link LivenessProbe.probe} while one waits joins it (and
 * sends nothing). An idle, unsuspected link sends nothing and keeps no timer.
 * @internal
 */
export class LivenessProbe {
  readonly #ping: () => void
  #pending: { readonly outcome: Promise<ProbeOutcome>; settle(outcome: ProbeOutcome): void } | undefined
  #closed = false

  /** `ping` sends the probe's ping (id {@link PROBE_PING_ID}) on the control lane; it never throws. */
  constructor(ping: () => void) {
    this.#ping = ping
  }

  /** True while a probe waits for its pong. */
  get probing(): boolean {
    return this.#pending !== undefined
  }

  /**
   * Probes the peer, unless a probe is in flight already: `started` says whether this call sent a
   * ping, `outcome` is the probe's (the one in flight when it did not).
   */
  probe(timeoutMs: number): { started: boolean; outcome: Promise<ProbeOutcome> } {
    if (this.#closed) return { started: false, outcome: Promise.resolve('closed') }
    if (this.#pending !== undefined) return { started: false, outcome: this.#pending.outcome }
    let timer: ReturnType<typeof setTimeout> | undefined
    let resolve!: (outcome: ProbeOutcome) => void
    const outcome = new Promise<ProbeOutcome>((r) => {
      resolve = r
    })
    const pending = {
      outcome,
      settle: (result: ProbeOutcome) => {
        if (this.#pending !== pending) return
        this.#pending = undefined
        clearTimeout(timer)
        resolve(result)
      },
    }
    this.#pending = pending
    timer = setTimeout(() => pending.settle('unanswered'), timeoutMs)
    timer.unref()
    this.#ping()
    return { started: true, outcome }
  }

  /** The pong of the probe's ping arrived. Returns whether a probe was waiting for it. */
  answered(): boolean {
    if (this.#pending === undefined) return false
    this.#pending.settle('answered')
    return true
  }

  /** The link ended: a probe in flight ends `closed`, and no new one starts. */
  close(): void {
    this.#closed = true
    this.#pending?.settle('closed')
  }
}

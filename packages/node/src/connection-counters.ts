// The engine counters of every connection the node has had (dialed, or accepted by its listener):
// the open ones are read when metrics are collected, a closed one is added to the totals once as it
// closes (its counters keep their final values), so the totals never go down.
import type { Connection } from '@peer/transport-quic'

/** Datagrams over every connection the node has had, open and closed. @internal */
export interface DatagramTotals {
  received: number
  sent: number
}

/** Tracks the node's connections for their engine counters. @internal */
export class ConnectionCounters {
  readonly #open = new Set<Connection>()
  readonly #closed: DatagramTotals = { received: 0, sent: 0 }

  /** Counts `connection` from now until it closes (and its final counts after). Idempotent. */
  track(connection: Connection): void {
    if (this.#open.has(connection)) return
    this.#open.add(connection)
    connection.closed.then(
      () => {
        if (!this.#open.delete(connection)) return
        const s = connection.stats
        if (s === undefined) return
        this.#closed.received += s.datagramsReceived
        this.#closed.sent += s.datagramsSent
      },
      () => this.#open.delete(connection),
    )
  }

  /** The totals now: closed connections' final counts plus the open ones' current counts. */
  datagrams(): DatagramTotals {
    let { received, sent } = this.#closed
    for (const connection of this.#open) {
      const s = connection.stats
      if (s === undefined) continue
      received += s.datagramsReceived
      sent += s.datagramsSent
    }
    return { received, sent }
  }
}

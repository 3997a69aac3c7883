// A peer's protocol errors on one link: malformed envelopes and other breaches are counted (on the
// link and on the node), and past `maxProtocolErrors` the connection is closed with
// `CODE.PROTOCOL_ERROR` and a reason the peer can read.
import { shortId } from '@peer/discovery-core'
import { errorMessage } from '@peer/discovery-core/internal'
import { CODE } from '@peer/transport-quic'
import type { LinkHost } from './link-host.js'
import type { PeerStats } from './types.js'

/** Counts one link's protocol errors and ends the link past the limit. @internal */
export class ProtocolErrors {
  readonly #id: string
  readonly #stats: PeerStats
  readonly #host: LinkHost
  readonly #closed: () => boolean
  readonly #end: (reason: string, code: number) => void

  constructor(
    id: string,
    stats: PeerStats,
    host: LinkHost,
    closed: () => boolean,
    end: (reason: string, code: number) => void,
  ) {
    this.#id = id
    this.#stats = stats
    this.#host = host
    this.#closed = closed
    this.#end = end
  }

  /** A frame that was not a valid envelope: counted, dropped, and a protocol error. */
  malformed(error: unknown): void {
    this.#stats.malformed++
    this.#host.stats.malformed++
    this.#host.log.debug('malformed envelope dropped', {
      peer: shortId(this.#id),
      error: errorMessage(error),
    })
    this.breach(errorMessage(error))
  }

  /** Counts a protocol error; past `maxProtocolErrors`, the connection is closed with a reason. */
  breach(detail: string): void {
    if (this.#closed()) return
    this.#stats.protocolErrors++
    this.#host.stats.protocolErrors++
    if (this.#stats.protocolErrors <= this.#host.maxProtocolErrors) return
    const reason = `protocol error: more than ${this.#host.maxProtocolErrors} protocol errors, the last: ${detail}`
    this.#host.log.warn('peer broke the protocol too often: closing the connection', {
      peer: shortId(this.#id),
      detail,
    })
    this.#end(reason.slice(0, 200), CODE.PROTOCOL_ERROR)
  }
}

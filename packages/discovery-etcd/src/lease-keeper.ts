// The lease this node's key is written under: granted with the backend's TTL, kept alive by etcd3,
// replaced when it is lost or revoked or the TTL changed, and revoked (or, when etcd does not
// answer, released to expire) when the announcement goes. Callbacks from etcd3's keepalive stream
// go through `guarded`: nothing may throw out of them.
import { errorMessage, withTimeout } from '@peer/discovery-core/internal'
import type { Etcd3, IResponseHeader, Lease } from 'etcd3'
import { timedOut } from './etcd-client.js'

/** Counters the keeper adds to (the backend's `etcdStats`). */
export interface LeaseCounters {
  requests: number
  keepalives: number
  leaseGrants: number
}

/** What the keeper needs from the backend. */
export interface LeaseKeeperHost {
  readonly ttl: number
  readonly requestTimeoutMs: number
  readonly counters: LeaseCounters
  /** The current lease was lost (etcd3 gave up keeping it alive). */
  onLost(error: unknown): void
  /** A keepalive of the current lease succeeded; its response header. */
  onHeader(header: IResponseHeader): void
  /** Runs a callback from etcd3's side, turning what it throws into a reported error. */
  guarded(operation: string, fn: () => void): void
  log: { debug(message: string, fields?: Record<string, unknown>): void }
}

/** Holds at most one lease at a time (explicit state: `current`). */
export class LeaseKeeper {
  readonly #host: LeaseKeeperHost
  #lease: Lease | undefined
  #ttlUsed = 0

  constructor(host: LeaseKeeperHost) {
    this.#host = host
  }

  /** The lease the key is (or is about to be) written under, if any. */
  get current(): Lease | undefined {
    return this.#lease
  }

  /** The current lease, or a new one when there is none, it was revoked, or the TTL changed. */
  usable(client: Etcd3): Lease {
    const lease = this.#lease
    if (lease === undefined || lease.revoked() || this.#ttlUsed !== this.#host.ttl) return this.#grant(client)
    return lease
  }

  /** Detaches the current lease and returns it (to revoke it), leaving none. */
  take(): Lease | undefined {
    const lease = this.#lease
    this.#lease = undefined
    return lease
  }

  /** Forgets the current lease without revoking it (etcd lost it, e.g. after a reset). */
  release(): void {
    const lease = this.take()
    lease?.removeAllListeners('lost')
    lease?.release()
  }

  /** Revokes `lease` (its key goes with it); when etcd does not answer, the key expires with it. */
  async revoke(lease: Lease): Promise<void> {
    lease.removeAllListeners('lost')
    lease.on('lost', () => {})
    const timeoutMs = this.#host.requestTimeoutMs
    try {
      this.#host.counters.requests++
      await withTimeout(lease.revoke(), timeoutMs, timedOut('lease revoke', timeoutMs))
    } catch (error) {
      // the key expires with the lease once keepalives stop
      lease.release()
      this.#host.log.debug('lease revoke failed; the key expires with its TTL', {
        error: errorMessage(error),
      })
    }
  }

  #grant(client: Etcd3): Lease {
    const old = this.#lease
    if (old !== undefined) {
      old.removeAllListeners('lost')
      old.release()
    }
    const host = this.#host
    host.counters.requests++
    host.counters.leaseGrants++
    const lease = client.lease(host.ttl)
    this.#ttlUsed = host.ttl
    this.#lease = lease
    lease.on('lost', (error) =>
      host.guarded('lease', () => {
        if (this.#lease !== lease) return
        this.#lease = undefined
        host.onLost(error)
      }),
    )
    lease.on('keepaliveFired', () => {
      host.counters.keepalives++
    })
    lease.on('keepaliveSucceeded', (res) =>
      host.guarded('lease', () => {
        if (this.#lease === lease) host.onHeader(res.header)
      }),
    )
    return lease
  }
}

import { withTimeout } from '@peer/discovery-core/internal'
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3'
import { timedOut } from './etcd-client.js'

/** What an {@link EtcdWatch} reports; called only while the watch is current (not retired). */
export interface EtcdWatchHandlers {
  /** Events (and the header revision) etcd sent for the watch. */
  events(res: IWatchResponse): void
  /** The watch was created again on a new stream after its stream failed. */
  reconnected(res: IWatchResponse): void
  /** The watch stream failed; etcd3 reconnects it with backoff. */
  disconnected(error: unknown): void
  /** etcd cancelled the watch (e.g. its start revision was compacted); it delivers nothing more. */
  cancelled(error: unknown): void
  /** One of the handlers above threw: the error is passed here instead of escaping. */
  failed(error: unknown): void
}

/**
 * One etcd watch of a key prefix, on a watch stream of its own.
 *
 * etcd3 multiplexes the watches of one `Namespace` on one gRPC stream and THROWS from that stream's
 * message handler (an uncaught exception: the process dies) when an answer arrives for a watch it
 * no longer lists. So a watch is only ever taken down through `Watcher.cancel()`, and stays listed
 * until etcd confirmed the cancel or its stream failed, however long that takes: late events and
 * the late confirmation then find it. {@link retire} stops reporting at once and lets the cancel
 * finish in the background. Each watch gets a fresh `Namespace` (hence a fresh etcd3 watch manager
 * and gRPC stream on the same connection), so a retired watch that is still being cancelled never
 * shares a stream, an attach queue or a reconnection with its successor; etcd3 closes that stream
 * itself once the cancel is confirmed. Handler errors are caught: nothing escapes into etcd3's
 * stream handler.
 */
export class EtcdWatch {
  readonly #watcher: Watcher
  readonly #handlers: EtcdWatchHandlers
  readonly #created: Promise<void>
  #retired = false
  #everConnected = false
  #endedByEtcd = false
  #retiring: Promise<void> | undefined

  constructor(client: Etcd3, keyPrefix: string, startRevision: number, handlers: EtcdWatchHandlers) {
    this.#handlers = handlers
    const watcher = client
      .namespace('')
      .watch()
      .prefix(keyPrefix)
      .startRevision(String(startRevision))
      .watcher()
    this.#watcher = watcher
    let created!: () => void
    let refused!: (error: unknown) => void
    this.#created = new Promise<void>((resolve, reject) => {
      created = resolve
      refused = reject
    })
    this.#created.catch(() => {}) // observed by ready(); never an unhandled rejection
    watcher.on('data', (res: IWatchResponse) => this.#call(() => handlers.events(res)))
    watcher.on('connected', (res: IWatchResponse) => {
      const first = !this.#everConnected
      this.#everConnected = true
      if (first) created()
      else this.#call(() => handlers.reconnected(res))
    })
    watcher.on('disconnected', (error: unknown) => this.#call(() => handlers.disconnected(error)))
    // always listened to, retired or not: an 'error' emitted with no listener would throw
    watcher.on('error', (error: unknown) => {
      // etcd cancelled (or refused) the watch: etcd3 has already let go of it
      this.#endedByEtcd = true
      refused(error)
      this.#call(() => handlers.cancelled(error))
    })
  }

  /** Resolves once etcd created the watch; rejects if etcd refused it or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return withTimeout(this.#created, timeoutMs, timedOut('watch create', timeoutMs))
  }

  /**
   * Stops reporting at once and cancels the watch in etcd. The promise resolves when etcd confirmed
   * the cancel or the stream went away, or after `waitMs` at most (the cancel then goes on in
   * etcd3's hands: the watch stays listed there until the answer comes). Never rejects.
   */
  retire(waitMs: number): Promise<void> {
    if (this.#retiring !== undefined) return this.#retiring
    this.#retired = true
    if (this.#endedByEtcd) {
      // a watch etcd cancelled itself is gone from etcd3's list already: nothing to cancel
      this.#retiring = Promise.resolve()
    } else {
      const cancelled = Promise.resolve()
        .then(() => this.#watcher.cancel())
        .then(
          () => {},
          () => {},
        )
      this.#retiring = withTimeout(cancelled, waitMs, timedOut('watch cancel', waitMs)).catch(() => {})
    }
    return this.#retiring
  }

  #call(fn: () => void): void {
    if (this.#retired) return
    try {
      fn()
    } catch (error) {
      try {
        this.#handlers.failed(error)
      } catch {
        // the last resort must not throw into etcd3's stream handler either
      }
    }
  }
}

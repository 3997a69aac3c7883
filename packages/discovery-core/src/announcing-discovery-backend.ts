import { type AbortOptions, raceSignal, throwIfAborted } from './abort.js'
import { AbstractDiscoveryBackend, type BackendOptions } from './abstract-discovery-backend.js'
import type { DiscoveryCapability } from './discovery-backend.js'
import { InvalidPeerRecordError } from './errors.js'
import { isWildcardHost, undialableHostProblem } from './host.js'
import { type LocalPeer, validateLocalPeer } from './peer-record.js'

/** What {@link AbstractAnnouncingBackend.doAnnounce} and `doWithdraw` receive. */
export interface AnnounceContext {
  /** The caller's signal: stop work when it aborts (the base rejects the call at once anyway). */
  signal?: AbortSignal | undefined
}

/**
 * {@link AbstractDiscoveryBackend} for backends with the `announce` capability. `announce()` and
 * `withdraw()` are template methods, so a backend cannot get their rules wrong:
 *
 * - an aborted signal rejects with `AbortError`, before and during the call (even when the
 *   subclass ignores it);
 * - the record is validated (`validateLocalPeer`, with the backend's `recordLimits`; an
 *   unspecified address only where {@link announcesInterfaceAddresses}) and
 *   {@link checkAnnouncement} may reject what the medium cannot carry, before anything changes;
 * - the node's id becomes the backend's self id (never reported as a peer);
 * - the announcement is remembered ({@link announcement}); before `start()` (or after `stop()`)
 *   nothing else happens: `onStart` publishes `this.announcement` when it is set. While a start is
 *   in progress the call waits for it, then publishes if the start succeeded;
 * - once started, {@link doAnnounce} publishes it; `withdraw()` forgets it and, once started,
 *   calls {@link doWithdraw}. `withdraw()` without an announcement is a no-op.
 *
 * `stop()` takes the node off the medium as far as the medium allows (`onStop` releases the
 * lease, says goodbye, ...) but keeps the announcement: the next `start()` publishes it again.
 */
export abstract class AbstractAnnouncingBackend extends AbstractDiscoveryBackend {
  #announcement: LocalPeer | undefined

  constructor(source: string, capabilities: Iterable<DiscoveryCapability>, options: BackendOptions = {}) {
    super(source, new Set<DiscoveryCapability>(['announce', ...capabilities]), options)
  }

  /** The validated record last given to `announce()`, until `withdraw()`. */
  protected get announcement(): LocalPeer | undefined {
    return this.#announcement
  }

  /**
   * Publishes this node, or replaces its announcement. Rejects with `InvalidPeerRecordError` for an
   * invalid record (nothing changes then) and with `AbortError` when `signal` aborts.
   */
  async announce(self: LocalPeer, options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    throwIfAborted(signal)
    const local = validateLocalPeer(self, this.recordLimits)
    if (!this.announcesInterfaceAddresses) {
      const i = local.addresses.findIndex((a) => isWildcardHost(a.host))
      if (i >= 0) {
        const problem = undialableHostProblem(local.addresses[i]!.host)
        throw new InvalidPeerRecordError(
          `addresses[${i}].host`,
          `${problem} (announce the address peers should dial: this backend publishes addresses as given)`,
        )
      }
    }
    this.checkAnnouncement(local)
    this.#announcement = local
    this.setSelfId(local.id)
    if (!this.started) {
      if (!this.active) return // remembered: onStart publishes it
      await raceSignal(this.settled(), signal)
      if (!this.started) return
    }
    if (this.#announcement !== local) return // replaced meanwhile
    await raceSignal(this.doAnnounce(local, { signal }), signal)
  }

  /** Removes this node's announcement; a no-op when there is none. */
  async withdraw(options: AbortOptions = {}): Promise<void> {
    const { signal } = options
    throwIfAborted(signal)
    if (this.#announcement === undefined) return
    this.#announcement = undefined
    if (!this.started) {
      if (!this.active) return // stop() already took it off the medium
      await raceSignal(this.settled(), signal)
      if (!this.started) return
    }
    if (this.#announcement !== undefined) return // announced again meanwhile
    await raceSignal(this.doWithdraw({ signal }), signal)
  }

  /**
   * True for a backend that publishes each interface's own addresses when the announcement carries
   * the unspecified address (`0.0.0.0`, `::`), as mDNS does. Default false: `announce()` rejects
   * such a record, since every peer would drop it (nobody can dial the unspecified address).
   */
  protected get announcesInterfaceAddresses(): boolean {
    return false
  }

  /**
   * Rejects (by throwing) a valid record the medium cannot carry, e.g. one too large for an etcd
   * value or without a port for an SRV record. Called before anything changes. Default: accepts.
   */
  protected checkAnnouncement(_self: LocalPeer): void {}

  /** Publishes `self` on the medium; called only while started, with a validated record. */
  protected abstract doAnnounce(self: LocalPeer, context: AnnounceContext): Promise<void>

  /** Takes this node off the medium; called only while started and after an announcement. */
  protected abstract doWithdraw(context: AnnounceContext): Promise<void>
}

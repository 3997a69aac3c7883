import type { AbortOptions, DiscoveryBackend, PeerAddress, PeerRecord } from '@peer/discovery-core'

/** Which side opened a connection. */
export type ConnectionDirection = 'inbound' | 'outbound'

/**
 * What the peer registry needs from a connection. `@peer/transport-quic` connections meet it; so
 * can any other transport's.
 */
export interface RegistryConnection {
  /** The node id the remote proved during the handshake. */
  readonly remoteId: string
  /** The remote's address as seen by this side, when known. */
  readonly remoteAddress?: PeerAddress | undefined
  /** Smoothed round-trip time in ms, when the transport measures it. */
  readonly rtt?: number | undefined
  /** Closes the connection; `reason` is sent to the remote where the transport can. */
  close(reason?: string): unknown
  /**
   * Settles once the connection is closed (by either side, by an idle timeout or an error). A
   * fulfilment value that is a string, an `Error` or an object with a `reason` string is used as
   * the reason of `peer:disconnected`.
   */
  readonly closed: PromiseLike<unknown>
}

/** Options the registry passes to {@link RegistryTransport.dial}. */
export interface RegistryDialOptions extends AbortOptions {
  /** The node id the remote must prove; the transport fails the dial otherwise (pinning). */
  expectedId: string
  /**
   * For a transport with {@link RegistryTransport.reportsDialCommit}: called once, synchronously,
   * when the dial can no longer be taken back (the remote may hand the connection to its
   * application from then on). A dial aborted before the call must never reach the remote's
   * application.
   */
  onCommit?: () => void
}

/**
 * What the peer registry needs from a transport: dial an address and pin the remote to an id.
 * The promise rejects when the remote is unreachable, presents another id, or `signal` aborts.
 */
export interface RegistryTransport<C extends RegistryConnection = RegistryConnection> {
  /**
   * Connects to `address` and resolves with a connection whose remote proved
   * `options.expectedId` (the registry closes one that proves another id). The registry aborts
   * `options.signal` when the dial times out (`dialTimeoutMs`), when it cuts a probing attempt
   * short, gives the dial up or stops dialing, and closes a connection that still arrives after
   * that (reason `dial abandoned`).
   */
  dial(address: PeerAddress, options: RegistryDialOptions): Promise<C>
  /**
   * True when `dial` calls {@link RegistryDialOptions.onCommit} (`@peer/transport-quic` does).
   * Only then does an inbound connection win over a stale dial of ours to the same peer that has
   * not committed: a committed one may already be the remote's connection, and giving it up would
   * leave each side with a different one.
   */
  readonly reportsDialCommit?: boolean
}

/**
 * The trust list: which node ids may connect. `@peer/identity`'s `TrustList` meets it. When it is
 * an event target, the registry listens to `trust:added` / `trust:removed` (detail
 * `{ entry: { id } }`) and to a plain `change` event, and applies changes live. A bare predicate
 * `(id) => boolean` works too; call {@link PeerRegistry.refreshTrust} after changing what it answers.
 */
export interface TrustStore {
  /** True when `id` may connect. Only `true` counts; a call that throws is logged and means untrusted. */
  has(id: string): boolean
  /**
   * When present, the registry listens to `trust:added`, `trust:removed` and `change` from
   * `start()` until it stops dialing (one listener per type, shared by the registries of one store).
   */
  addEventListener?(type: string, listener: (event: Event) => void): void
  /**
   * Removes the registry's listeners once no registry uses them; without it they stay on the store
   * (and are reused by the next registry that starts).
   */
  removeEventListener?(type: string, listener: (event: Event) => void): void
}

/**
 * Where the registry learns about peers: the aggregate `Discovery` of `@peer/discovery-core` (or
 * any single backend). The registry listens to `peer:discovered`, `peer:updated` and `peer:lost`,
 * reads what is already known with `list()` on start, and uses `get(id)` (when present) to find a
 * peer whose id became trusted.
 */
export type PeerSource = Pick<DiscoveryBackend, 'addEventListener' | 'removeEventListener' | '~events'> & {
  list?(options?: AbortOptions): Promise<readonly PeerRecord[]>
  get?(id: string): PeerRecord | undefined
}

import {
  type AbortOptions,
  type DiscoveryBackend,
  type DiscoveryCapability,
  type DiscoveryEvents,
  type DiscoveryStats,
  type PeerRecord,
  TypedEventTarget,
} from '@peer/discovery-core'

const EVENTS = ['peer:discovered', 'peer:updated', 'peer:lost', 'discovery:error'] as const

/**
 * A view of a backend that finds peers but never announces this node: `peer ping` uses it so a
 * short-lived probe never shows up in etcd or mDNS (or replaces the record of a running node that
 * shares its identity). Everything else is delegated; events are re-emitted.
 */
export class BrowseOnlyBackend extends TypedEventTarget<DiscoveryEvents> implements DiscoveryBackend {
  readonly inner: DiscoveryBackend
  readonly capabilities: ReadonlySet<DiscoveryCapability>

  constructor(inner: DiscoveryBackend) {
    super()
    this.inner = inner
    this.capabilities = new Set([...inner.capabilities].filter((c) => c !== 'announce'))
    for (const type of EVENTS) {
      inner.addEventListener(type, (event) => this.emit(type, (event as CustomEvent).detail as never))
    }
  }

  get source(): string {
    return this.inner.source
  }

  get started(): boolean {
    return this.inner.started
  }

  get stats(): Readonly<DiscoveryStats> {
    return this.inner.stats
  }

  start(options?: AbortOptions): Promise<void> {
    return this.inner.start(options)
  }

  stop(options?: AbortOptions): Promise<void> {
    return this.inner.stop(options)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.inner.stop()
  }

  lookup(nameOrId: string, options?: AbortOptions): Promise<PeerRecord | undefined> {
    return this.inner.lookup(nameOrId, options)
  }

  async list(options?: AbortOptions): Promise<PeerRecord[]> {
    return this.inner.list === undefined ? [] : this.inner.list(options)
  }
}

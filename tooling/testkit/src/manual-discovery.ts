// A tiny discovery backend for tests: announce and lose peers by hand.
import {
  AbstractDiscoveryBackend,
  type BackendOptions,
  Discovery,
  type PeerAddress,
} from '@peer/discovery-core'

export class ManualBackend extends AbstractDiscoveryBackend {
  constructor(source = 'manual', options: BackendOptions = {}) {
    super(source, ['list', 'watch'], options)
  }
  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}
  announcePeer(
    id: string,
    addresses: PeerAddress[],
    extra: { name?: string; meta?: Record<string, string> } = {},
  ) {
    return this.reportPeer({ id, addresses, ...extra })
  }
  losePeer(id: string, reason = 'removed'): void {
    this.reportLost(id, reason)
  }
}

/** An aggregate Discovery over manual backends (no hysteresis), started. */
export async function manualDiscovery(sources: string[] = ['manual']) {
  const backends = sources.map((s) => new ManualBackend(s))
  const discovery = new Discovery({ backends, lostHysteresisMs: 0 })
  await discovery.start()
  return { discovery, backends, backend: backends[0]! }
}

/**
 * A backend a user might write without the base class: `DiscoveryBackend` on a plain
 * `EventTarget`, which emits whatever `send` is given (a malformed event included). On a plain
 * `EventTarget` a listener that throws is an uncaught exception.
 */
export class RawBackend extends EventTarget {
  readonly capabilities = new Set(['list', 'watch'] as const)
  readonly stats = { invalidRecords: 0, overflowDrops: 0, listenerErrors: 0 }
  constructor(readonly source = 'raw') {
    super()
  }
  started = false
  async start(): Promise<void> {
    this.started = true
  }
  async stop(): Promise<void> {
    this.started = false
  }
  async lookup(_nameOrId: string): Promise<unknown> {
    return undefined
  }
  /** Dispatches `type` with `detail` as it is. */
  send(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }
}

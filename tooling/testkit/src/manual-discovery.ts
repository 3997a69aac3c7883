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

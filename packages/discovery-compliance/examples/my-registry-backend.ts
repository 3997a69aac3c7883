import {
  AbstractAnnouncingBackend,
  type AnnounceContext,
  type BackendOptions,
  type LocalPeer,
} from '@peer/discovery-core'
import type { MyRegistryClient } from './my-registry-client.js'

/** Finds peers in "my registry": every node writes itself under its id and watches the others. */
export class MyRegistryDiscovery extends AbstractAnnouncingBackend {
  readonly #client: MyRegistryClient
  #unwatch: (() => void) | undefined

  constructor(client: MyRegistryClient, options: BackendOptions = {}) {
    // 'announce' is added by AbstractAnnouncingBackend
    super('myregistry', ['list', 'watch'], options)
    this.#client = client
  }

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    // watch first, then list: no change can fall between the two
    this.#unwatch = this.#client.watch((change) => {
      // validated, self-filtered and deduplicated for you; invalid values are counted drops
      if (change.type === 'put') this.reportPeer(change.value)
      else this.reportLost(change.id, 'removed')
    })
    for (const value of await this.#client.list({ signal })) this.reportPeer(value)
    // announce() before start() only remembered the record: publish it now
    const self = this.announcement
    if (self !== undefined) await this.#client.put(self.id, self, { signal })
  }

  protected async onStop(): Promise<void> {
    // release every watch, timer and socket (the kit checks), and leave the registry;
    // the announcement is kept, so the next start() publishes it again
    this.#unwatch?.()
    this.#unwatch = undefined
    const self = this.announcement
    if (self !== undefined) await this.#client.delete(self.id)
  }

  // called only while started, with a validated record; aborts are handled by the base class
  protected async doAnnounce(self: LocalPeer, { signal }: AnnounceContext): Promise<void> {
    await this.#client.put(self.id, self, { signal })
  }

  protected async doWithdraw({ signal }: AnnounceContext): Promise<void> {
    if (this.selfId !== undefined) await this.#client.delete(this.selfId, { signal })
  }
}

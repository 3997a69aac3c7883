// A minimal backend on AbstractDiscoveryBackend with public hooks, for the core's own tests.
import { AbstractDiscoveryBackend, type BackendOptions, type DiscoveryCapability } from '../src/index.js'

export class TestBackend extends AbstractDiscoveryBackend {
  startDelay = 0
  failStart: Error | undefined
  stops = 0
  lookupImpl: ((nameOrId: string) => Promise<unknown>) | undefined

  constructor(
    source = 'test',
    options: BackendOptions = {},
    caps: DiscoveryCapability[] = ['list', 'watch'],
  ) {
    super(source, caps, options)
  }

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    if (this.startDelay > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.startDelay)
        signal?.addEventListener('abort', () => {
          clearTimeout(t)
          reject(signal.reason)
        })
      })
    }
    if (this.failStart) throw this.failStart
  }

  protected async onStop(): Promise<void> {
    this.stops++
  }

  override async lookup(nameOrId: string, options = {}) {
    if (this.lookupImpl) return (await this.lookupImpl(nameOrId)) as never
    return super.lookup(nameOrId, options)
  }

  found(input: unknown) {
    return this.reportPeer(input)
  }
  counted(reason: string) {
    this.countInvalid(reason)
  }
  lost(id: string) {
    this.reportLost(id, 'removed')
  }
  failed(error: unknown) {
    this.reportError(error)
  }
  setSelf(id: string) {
    this.setSelfId(id)
  }
}

// A discovery backend of your own in a few lines: extend AbstractDiscoveryBackend, report what you
// find, and the base class enforces the behaviour (validation, self filtering, one event per change,
// no events outside start..stop).
// Run: node examples/custom-backend.mjs
import { AbstractDiscoveryBackend, Discovery, parseNodeName } from '@peer/discovery-core'

/** Finds peers in a (pretend) HTTP registry by polling it. */
class PollingBackend extends AbstractDiscoveryBackend {
  #fetchPeers
  #timer
  constructor(fetchPeers, options = {}) {
    super('polling', ['list', 'watch'], options)
    this.#fetchPeers = fetchPeers
  }

  async onStart() {
    await this.#poll()
    this.#timer = setInterval(() => void this.#poll(), 1000)
  }

  async onStop() {
    clearInterval(this.#timer)
  }

  async #poll() {
    try {
      const seen = new Set()
      for (const item of await this.#fetchPeers()) {
        const record = this.reportPeer(item) // validated: invalid items are counted and dropped
        if (record) seen.add(record.id)
      }
      for (const known of [...this.knownPeers()])
        if (!seen.has(known.id)) this.reportLost(known.id, 'removed')
    } catch (error) {
      this.reportError(error) // transient: peers are kept
    }
  }
}

const registry = [
  {
    id: 'fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia',
    name: 'alice@localhost',
    addresses: [{ host: '127.0.0.1', port: 4001 }],
  },
  { id: 'not a node id', addresses: [] },
]

const discovery = new Discovery({ backends: [new PollingBackend(async () => registry)] })
discovery.addEventListener('peer:discovered', (e) => {
  const name = parseNodeName(e.detail.record.name ?? '')
  console.log(
    `discovered ${e.detail.record.id} (${name.kind === 'name' ? name.name : 'unnamed'}) via ${e.detail.source}`,
  )
})
await discovery.start()
console.log(`invalid records dropped: ${discovery.stats.invalidRecords}`)
await discovery.stop()

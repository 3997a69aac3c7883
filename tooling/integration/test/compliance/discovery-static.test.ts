import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import type { LocalPeer } from '@peer/discovery-core'
import { StaticDiscovery } from '@peer/discovery-static'

// Instances share one JSON file: seeding writes it, the file watcher propagates the change.
function fileHarness() {
  let dir: string | undefined
  let file = ''
  const peers = new Map<string, LocalPeer>()
  const write = () => writeFileSync(file, JSON.stringify({ version: 1, peers: [...peers.values()] }))
  return {
    propagationTimeoutMs: 2000,
    async setup({ count, selves }: { count: number; selves: readonly LocalPeer[] }) {
      dir = mkdtempSync(join(tmpdir(), 'peer-static-'))
      file = join(dir, 'peers.json')
      write()
      return Array.from(
        { length: count },
        (_, i) => new StaticDiscovery({ file, self: selves[i]?.id, debounceMs: 20 }),
      )
    },
    async seed(peer: LocalPeer) {
      peers.set(peer.id, peer)
      write()
    },
    async unseed(id: string) {
      peers.delete(id)
      write()
    },
    async seedInvalid() {
      writeFileSync(file, '{ "version": 1, "peers": [ { "id": "nope" ')
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

describeDiscoveryCompliance('static (watched JSON file)', fileHarness, { capabilities: ['list', 'watch'] })

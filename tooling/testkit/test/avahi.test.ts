import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Avahi, missingAvahiBinaries, startAvahi, sweepStaleAvahiDirs } from '../src/avahi.js'
import { type BridgeTopology, createBridgeTopology } from '../src/netns.js'

describe('startAvahi', () => {
  let topo: BridgeTopology | undefined
  let avahi: Avahi | undefined
  afterAll(async () => {
    await avahi?.close()
    await topo?.destroy()
  })

  it('has its binaries (tooling/scripts/setup-system.sh installs them)', () => {
    expect(missingAvahiBinaries()).toEqual([])
  })

  it('runs avahi-daemon with a private bus inside a namespace; clients publish and browse', async () => {
    topo = await createBridgeTopology({ count: 1, label: 'avahi-kit' })
    avahi = await startAvahi({ ns: topo.nodes[0]!.ns })
    expect(avahi.log()).toMatch(/Joining mDNS multicast group on interface eth0\.IPv4/)
    const publisher = avahi.spawn('avahi-publish-service', ['-s', 'KitService', '_kit._udp', '4242', 'k=v'])
    await publisher.waitFor(/Established under name 'KitService'/)
    const out = await avahi.exec('avahi-browse', ['-rpt', '_kit._udp'])
    expect(out).toMatch(
      new RegExp(
        `^=;eth0;IPv4;KitService;_kit\\._udp;local;${avahi.hostName}\\.local;${topo.nodes[0]!.ipv4.replace(/\./g, '\\.')};4242;"k=v"$`,
        'm',
      ),
    )
    await publisher.stop()
    const pid = avahi.spawn('true', []).process.pid
    expect(pid).toBeGreaterThan(0)
    await avahi.close()
    await avahi.close()
  }, 30_000)
})

describe('sweepStaleAvahiDirs', () => {
  it("removes the temp dirs of runs whose process is gone, and leaves live ones (its own, others')", () => {
    const parent = mkdtempSync(join(tmpdir(), 'peer-sweep-test-'))
    try {
      // a pid that ran and is gone
      const gone = spawnSync(process.execPath, ['-e', '0']).pid as number
      const stale = join(parent, `peer-avahi-${gone}-abc`)
      const mine = join(parent, `peer-avahi-${process.pid}-def`)
      const other = join(parent, 'peer-avahi-1-ghi') // pid 1 always runs
      for (const dir of [stale, mine, other]) mkdirSync(join(dir, 'services'), { recursive: true })
      expect(sweepStaleAvahiDirs(parent)).toEqual([stale])
      expect([stale, mine, other].map((d) => existsSync(d))).toEqual([false, true, true])
    } finally {
      rmSync(parent, { recursive: true, force: true })
    }
  })
})

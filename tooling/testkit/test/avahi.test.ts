import { afterAll, describe, expect, it } from 'vitest'
import { type Avahi, missingAvahiBinaries, startAvahi } from '../src/avahi.js'
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

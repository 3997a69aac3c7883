// The compliance kit against DnsDiscovery. DNS cannot announce, so the harness seeds peers by
// changing the records a real dnsmasq (one per scenario, started by @peer/testkit) serves.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import type { DiscoveryHarness } from '@peer/discovery-compliance'
import { describeDiscoveryCompliance } from '@peer/discovery-compliance/vitest'
import type { LocalPeer } from '@peer/discovery-core'
import { DnsDiscovery } from '@peer/discovery-dns'
import { type DnsmasqServer, startDnsmasq } from '@peer/testkit/dnsmasq'

const DOMAIN = 'peer.test'
const SERVICE = `_peer._udp.${DOMAIN}`

function dnsHarness(): DiscoveryHarness<DnsDiscovery> {
  let dnsmasq: DnsmasqServer | undefined
  const targetsOf = new Map<string, string[]>()
  return {
    propagationTimeoutMs: 5000,
    async setup({ count, selves }) {
      dnsmasq = await startDnsmasq({ domain: DOMAIN, ttl: 0 })
      return Array.from(
        { length: count },
        (_, i) =>
          new DnsDiscovery({
            resolvers: [dnsmasq!.address],
            domain: DOMAIN,
            self: selves[i]!.id,
            minTtlMs: 100,
            maxTtlMs: 1000,
            negativeTtlMs: 100,
            retryDelayMs: 50,
            timeoutMs: 300,
            attempts: 2,
          }),
      )
    },
    async seed(peer: LocalPeer) {
      const byPort = new Map<number, string[]>()
      for (const a of peer.addresses) {
        if (isIP(a.host) === 0) continue
        byPort.set(a.port, [...(byPort.get(a.port) ?? []), a.host])
      }
      const txt = [`id=${peer.id}`]
      if (peer.name !== undefined) txt.push(`name=${peer.name}`)
      for (const [k, v] of Object.entries(peer.meta ?? {})) txt.push(`${k}=${v}`)
      const targets: string[] = []
      await dnsmasq!.update((zone) => {
        let k = 0
        for (const [port, hosts] of byPort) {
          const target = k === 0 ? `${peer.id}.${DOMAIN}` : `${peer.id}-${k}.${DOMAIN}`
          k++
          targets.push(target)
          zone.srv[SERVICE] = [
            ...(zone.srv[SERVICE] ?? []).filter((s) => s.target !== target),
            { target, port },
          ]
          zone.txt[target] = txt
          zone.hosts[target] = hosts
        }
      })
      targetsOf.set(peer.id, targets)
    },
    async unseed(id: string) {
      const targets = targetsOf.get(id) ?? []
      targetsOf.delete(id)
      await dnsmasq!.update((zone) => {
        zone.srv[SERVICE] = (zone.srv[SERVICE] ?? []).filter((s) => !targets.includes(s.target))
        if (zone.srv[SERVICE]!.length === 0) delete zone.srv[SERVICE]
        for (const t of targets) {
          delete zone.txt[t]
          delete zone.hosts[t]
        }
      })
    },
    async seedInvalid() {
      // an SRV target without a node id (neither TXT id= nor an id label)
      const target = `bad-${randomBytes(4).toString('hex')}.${DOMAIN}`
      await dnsmasq!.update((zone) => {
        zone.srv[SERVICE] = [...(zone.srv[SERVICE] ?? []), { target, port: 4000 }]
        zone.txt[target] = ['id=not-a-node-id', 'name=?']
        zone.hosts[target] = ['127.0.0.1']
      })
    },
    async teardown() {
      await dnsmasq?.stop()
      dnsmasq = undefined
      targetsOf.clear()
    },
  }
}

describeDiscoveryCompliance('dns (dnsmasq)', dnsHarness, { capabilities: ['list', 'watch', 'expiry'] })

// Watch a DNS SRV service and print what appears and goes.
// Run: PEER_DNS_RESOLVERS=127.0.0.1:5353 PEER_DNS_DOMAIN=peer.test npx tsx examples/watch-service.ts
// (any resolver serving _peer._udp.<domain>; see the README for the records)
import { pathToFileURL } from 'node:url'
import { DnsDiscovery } from '@peer/discovery-dns'

/** Watches `_peer._udp.<domain>` on `resolvers` until `until` resolves; returns what it saw. */
export async function main(resolvers: string[], domain: string, until: Promise<unknown>): Promise<string[]> {
  const seen: string[] = []
  await using dns = new DnsDiscovery({ resolvers, domain, minTtl: 1 })
  dns.addEventListener('peer:discovered', (e) => {
    const { id, name, addresses } = e.detail.record
    seen.push(
      `discovered ${name ?? id.slice(0, 8)} at ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`,
    )
  })
  dns.addEventListener('peer:updated', (e) =>
    seen.push(`updated ${e.detail.record.name ?? e.detail.record.id}`),
  )
  dns.addEventListener('peer:lost', (e) =>
    seen.push(`lost ${e.detail.record.name ?? e.detail.record.id} (${e.detail.reason})`),
  )
  dns.addEventListener('discovery:error', (e) => seen.push(`error ${e.detail.error.message}`))
  await dns.start()
  seen.push(`watching ${dns.service}: ${(await dns.list()).length} peer(s)`)
  await until
  return seen
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const resolvers = process.env.PEER_DNS_RESOLVERS?.split(',')
  const domain = process.env.PEER_DNS_DOMAIN
  if (!resolvers || !domain) {
    console.error('set PEER_DNS_RESOLVERS (e.g. 127.0.0.1:5353) and PEER_DNS_DOMAIN (e.g. peer.test)')
    process.exit(2)
  }
  const stop = new Promise((resolve) => process.once('SIGINT', resolve))
  const lines = main(resolvers, domain, stop)
  console.log('watching; Ctrl-C to stop')
  for (const line of await lines) console.log(line)
}

// Watch a DNS SRV service for a while and print what appears and goes.
// Run: PEER_DNS_RESOLVERS=127.0.0.1:5353 PEER_DNS_DOMAIN=peer.test node examples/watch-service.mjs
// PEER_DNS_RESOLVERS: a resolver serving _peer._udp.<PEER_DNS_DOMAIN> (see "Records" in the README);
// PEER_DNS_WATCH_MS: how long to watch after the first lookup (default 3000).
import { DnsDiscovery } from '@peer/discovery-dns'

const resolvers = process.env.PEER_DNS_RESOLVERS?.split(',')
const domain = process.env.PEER_DNS_DOMAIN
if (!resolvers || !domain) {
  console.error('set PEER_DNS_RESOLVERS (e.g. 127.0.0.1:5353) and PEER_DNS_DOMAIN (e.g. peer.test)')
  process.exit(2)
}
const watchMs = Number(process.env.PEER_DNS_WATCH_MS ?? 3000)

const dns = new DnsDiscovery({ resolvers, domain, minTtlMs: 1000 })
dns.addEventListener('peer:discovered', (e) => {
  const { id, name, addresses } = e.detail.record
  console.log(`discovered ${name ?? id} at ${addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`)
})
dns.addEventListener('peer:updated', (e) =>
  console.log(`updated ${e.detail.record.name ?? e.detail.record.id}`),
)
dns.addEventListener('peer:lost', (e) =>
  console.log(`lost ${e.detail.record.name ?? e.detail.record.id} (${e.detail.reason})`),
)
dns.addEventListener('discovery:error', (e) => console.log(`error ${e.detail.error.message}`))

await dns.start()
try {
  console.log(`watching ${dns.service}: ${(await dns.list()).length} peer(s)`)
  await new Promise((resolve) => setTimeout(resolve, watchMs))
} finally {
  await dns.stop()
}

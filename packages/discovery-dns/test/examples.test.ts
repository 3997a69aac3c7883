// Runs examples/watch-service.mjs against a real dnsmasq.
import { startDnsmasq } from '@peer/testkit/dnsmasq'
import { runExample } from '@peer/testkit/examples'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'

describe('examples/watch-service.mjs', () => {
  it('prints the peers of a zone and exits by itself', async () => {
    const id = testId('example')
    await using dnsmasq = await startDnsmasq({
      domain: 'example.test',
      zone: {
        srv: { '_peer._udp.example.test': [{ target: 'app1.example.test', port: 4001 }] },
        txt: { 'app1.example.test': [`id=${id}`, 'name=app@app1'] },
        hosts: { 'app1.example.test': ['127.0.0.1'] },
      },
    })
    const { stdout } = await runExample('packages/discovery-dns/examples/watch-service.mjs', {
      env: { PEER_DNS_RESOLVERS: dnsmasq.address, PEER_DNS_DOMAIN: 'example.test', PEER_DNS_WATCH_MS: '500' },
    })
    expect(stdout.trim().split('\n')).toEqual([
      'discovered app@app1 at 127.0.0.1:4001',
      'watching _peer._udp.example.test: 1 peer(s)',
    ])
  })
})

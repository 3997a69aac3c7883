// Runs examples/watch-service.ts against a real dnsmasq.
import { startDnsmasq } from '@peer/testkit/dnsmasq'
import { testId } from '@peer/testkit/ids'
import { describe, expect, it } from 'vitest'
import { main } from '../examples/watch-service.js'

describe('examples/watch-service.ts', () => {
  it('prints the peers of a zone, and a peer that goes away', async () => {
    const id = testId('example')
    await using dnsmasq = await startDnsmasq({
      domain: 'example.test',
      zone: {
        srv: { '_peer._udp.example.test': [{ target: 'app1.example.test', port: 4001 }] },
        txt: { 'app1.example.test': [`id=${id}`, 'name=app@app1'] },
        hosts: { 'app1.example.test': ['127.0.0.1'] },
      },
    })
    const until = (async () => {
      await new Promise((r) => setTimeout(r, 200))
      await dnsmasq.update((z) => {
        z.srv = {}
      })
      await new Promise((r) => setTimeout(r, 2500))
    })()
    const lines = await main([dnsmasq.address], 'example.test', until)
    expect(lines).toEqual([
      'discovered app@app1 at 127.0.0.1:4001',
      'watching _peer._udp.example.test: 1 peer(s)',
      'lost app@app1 (removed)',
    ])
  })
})

// The @peer/testkit dnsmasq helper these tests rely on: free port, temp dir, run-time changes,
// clean-up.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startDnsmasq } from '@peer/testkit/dnsmasq'
import { describe, expect, it } from 'vitest'
import { DnsClient } from '../src/index.js'

describe('@peer/testkit/dnsmasq', () => {
  it('serves its zone on 127.0.0.1, applies changes, and removes everything on stop', async () => {
    const a = await startDnsmasq({ ttl: 7, zone: { hosts: { 'h.peer.test': ['127.0.0.9', '::9'] } } })
    const b = await startDnsmasq()
    expect(a.port).not.toBe(b.port)
    await b.stop()
    const client = new DnsClient({ resolvers: [a.address], timeoutMs: 300, attempts: 1 })
    const answer = await client.query('h.peer.test', 'A')
    expect(answer.answers).toEqual([{ name: 'h.peer.test', ttl: 7, type: 'A', address: '127.0.0.9' }])
    expect((await client.query('nope.peer.test', 'A')).rcode).toBe(3)

    await a.update((z) => {
      z.srv['_x._udp.peer.test'] = [{ target: 'h.peer.test', port: 1, priority: 1, weight: 2 }]
    })
    expect(a.starts).toBe(2)
    expect((await client.query('_x._udp.peer.test', 'SRV')).answers).toMatchObject([
      { type: 'SRV', port: 1, priority: 1, weight: 2, target: 'h.peer.test' },
    ])
    await a.update((z) => {
      delete z.hosts['h.peer.test']
    })
    expect(a.starts).toBe(2) // address changes need no restart
    expect((await client.query('h.peer.test', 'A')).answers).toEqual([])

    expect(existsSync(a.dir)).toBe(true)
    await a.stop()
    await a.stop()
    expect(existsSync(a.dir)).toBe(false)
    await expect(client.query('h.peer.test', 'A')).rejects.toThrow()
  })

  it('applies concurrent changes one after another, none lost', async () => {
    const dns = await startDnsmasq()
    try {
      // each adds an SRV target (a restart each): run at once, they used to race on the restart
      await Promise.all(
        [1, 2, 3, 4].map((n) =>
          dns.update((z) => {
            z.srv['_x._udp.peer.test'] = [
              ...(z.srv['_x._udp.peer.test'] ?? []),
              { target: `t${n}.peer.test`, port: n },
            ]
          }),
        ),
      )
      const client = new DnsClient({ resolvers: [dns.address], timeoutMs: 300, attempts: 3 })
      const answer = await client.query('_x._udp.peer.test', 'SRV')
      expect(answer.answers.map((r) => (r as { port: number }).port).sort()).toEqual([1, 2, 3, 4])
    } finally {
      await dns.stop()
    }
  })

  it('a test process killed by SIGTERM takes its dnsmasq and temp dir with it', async () => {
    const script = fileURLToPath(new URL('./support/dnsmasq-child.ts', import.meta.url))
    const child = spawn(process.execPath, ['--conditions=@peer/source', '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString()
          if (out.includes('\n')) resolve(out.split('\n')[0]!)
        })
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)))
      })
      const { dir, address } = JSON.parse(line) as { dir: string; address: string }
      const client = new DnsClient({ resolvers: [address], timeoutMs: 300, attempts: 1 })
      expect((await client.query('child.peer.test', 'A')).answers).toHaveLength(1)
      expect(existsSync(dir)).toBe(true)
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      expect(existsSync(dir)).toBe(false)
      await expect(client.query('child.peer.test', 'A')).rejects.toThrow()
    } finally {
      child.kill('SIGKILL')
    }
  })
})

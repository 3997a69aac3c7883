import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CachingResolver, DnsClient, DnsQueryFailedError } from '../src/index.js'
import { type Dns2TestServer, startDns2Server } from './support/dns2-server.js'

let server: Dns2TestServer
beforeEach(async () => {
  server = await startDns2Server([
    { name: 'a.test', type: 'A', address: '10.0.0.1' },
    { name: 'b.test', type: 'A', address: '10.0.0.2' },
    { name: 'c.test', type: 'A', address: '10.0.0.3' },
    { name: 'd.test', type: 'A', address: '10.0.0.4' },
  ])
})
afterEach(async () => server.close())

const policy = { minTtl: 1, maxTtl: 60, negativeTtl: 5, maxNegativeTtl: 60 }

describe('CachingResolver', () => {
  it('keeps at most maxEntries answers, evicting the oldest', async () => {
    const cache = new CachingResolver(new DnsClient({ resolvers: [server.address] }), policy, {
      maxEntries: 2,
    })
    for (const n of ['a', 'b', 'c', 'd']) await cache.resolve(`${n}.test`, 'A')
    expect(cache.size).toBe(2)
    await cache.resolve('d.test', 'A')
    expect(server.queriesFor('d.test')).toBe(1)
    await cache.resolve('a.test', 'A')
    expect(server.queriesFor('a.test')).toBe(2)
  })

  it('shares one query between concurrent questions', async () => {
    const cache = new CachingResolver(new DnsClient({ resolvers: [server.address] }), policy)
    const answers = await Promise.all(Array.from({ length: 5 }, () => cache.resolve('a.test', 'A')))
    expect(new Set(answers).size).toBe(1)
    expect(server.queriesFor('a.test')).toBe(1)
  })

  it('caches NXDOMAIN and passes transient failures through', async () => {
    const client = new DnsClient({ resolvers: [server.address], timeoutMs: 100, attempts: 1 })
    const cache = new CachingResolver(client, policy)
    expect(await cache.resolve('nope.test', 'A')).toMatchObject({
      kind: 'negative',
      reason: 'NXDOMAIN',
      ttl: 5,
    })
    await cache.resolve('nope.test', 'A')
    expect(server.queriesFor('nope.test')).toBe(1)
    server.faults.set('*', 'servfail')
    await expect(cache.resolve('other.test', 'A')).rejects.toBeInstanceOf(DnsQueryFailedError)
    expect(client.stats.serverErrors).toBe(1)
  })

  it('a DNS client query takes { signal }', async () => {
    server.faults.set('*', 'drop')
    const client = new DnsClient({ resolvers: [server.address], timeoutMs: 5000 })
    const controller = new AbortController()
    const pending = client.query('a.test', 'A', { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await expect(client.query('a.test', 'A', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })
})

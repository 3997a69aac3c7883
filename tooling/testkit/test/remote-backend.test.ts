import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { testId } from '../src/ids.js'
import { type BackendHost, spawnBackendHost } from '../src/remote-backend.js'
import { recordEvents, waitFor } from '../src/wait.js'

const HOST = fileURLToPath(new URL('./fixtures/memory-host.ts', import.meta.url))

describe('remote backends (proxies to backends in a child process)', () => {
  const hosts: BackendHost[] = []
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()))
  })
  const host = async () => {
    const h = await spawnBackendHost(HOST)
    hosts.push(h)
    return h
  }

  it('forwards lifecycle, announce, lookup and list, and brings events and stats back', async () => {
    const h = await host()
    const a = await h.create()
    const b = await h.create()
    expect(a.source).toBe('memory')
    expect([...a.capabilities].sort()).toEqual(['announce', 'list', 'watch'])
    expect(a.started).toBe(false)
    await Promise.all([a.start(), b.start()])
    expect(a.started).toBe(true)
    const rec = recordEvents(b, ['peer:discovered', 'peer:lost'])
    const self = { id: testId('remote-a'), name: 'a@remote', addresses: [{ host: '127.0.0.1', port: 1 }] }
    await a.announce(self)
    await waitFor(() => rec.of('peer:discovered').length === 1, { what: 'discovered' })
    expect(
      (rec.of('peer:discovered')[0]!.detail as { record: { id: string; source: string } }).record,
    ).toMatchObject({
      id: self.id,
      source: 'memory',
    })
    expect(await b.lookup('a@remote')).toMatchObject({ id: self.id })
    expect((await b.list()).map((r) => r.id)).toEqual([self.id])
    expect(await b.lookup(testId('nobody'))).toBeUndefined()
    await a.withdraw()
    await waitFor(() => rec.of('peer:lost').length === 1, { what: 'lost' })
    await b.extra('invalid')
    await waitFor(() => b.stats.invalidRecords === 1, { what: 'stats pushed by the child' })
    await b.stop()
    expect(b.started).toBe(false)
  })

  it('counts a throwing listener locally and keeps delivering', async () => {
    const h = await host()
    const [a, b] = [await h.create(), await h.create()]
    await Promise.all([a.start(), b.start()])
    b.addEventListener('peer:discovered', () => {
      throw new Error('listener failure')
    })
    const rec = recordEvents(b, ['peer:discovered'])
    await a.announce({ id: testId('remote-throw'), addresses: [] })
    await waitFor(() => rec.of('peer:discovered').length === 1, { what: 'discovered' })
    expect(b.stats.listenerErrors).toBe(1)
  })

  it('honours abort signals: pre-aborted calls reject, an aborted start leaves the remote stopped', async () => {
    const h = await host()
    const slow = await h.create({ startDelay: 500 })
    await expect(slow.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    const controller = new AbortController()
    const starting = slow.start({ signal: controller.signal })
    controller.abort()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(slow.started).toBe(false)
    await slow.start()
    expect(slow.started).toBe(true)
  })

  it('passes remote errors through and fails calls when the child dies', async () => {
    const h = await host()
    const a = await h.create()
    await expect(a.extra('fail')).rejects.toMatchObject({ name: 'RangeError', message: 'remote failure' })
    await h.child.crash()
    await expect(a.start()).rejects.toThrow(/exited/)
  })
})

import { once } from 'node:events'
import { createServer } from 'node:net'
import { recordEvents } from '@peer/testkit/wait'
import { describe, expect, it } from 'vitest'
import {
  DuplicateServerNameError,
  InvalidPortError,
  InvalidServerError,
  InvalidServerNameError,
  PortUnavailableError,
  RegistryConfigError,
  RegistryFullError,
  ServerNotFoundError,
  ServerRegistry,
} from '../src/index.js'

/** A server meeting the documented interface through a `closed` promise and a port getter. */
class PromiseServer {
  readonly connections = new Set<string>()
  portReads = 0
  #port = 0
  #resolve!: () => void
  readonly closed = new Promise<void>((r) => {
    this.#resolve = r
  })
  get port(): number {
    this.portReads++
    return this.#port
  }
  bind(port: number): void {
    this.#port = port
  }
  close(): void {
    this.#resolve()
  }
}

/** A server meeting the interface through a `close` event on an EventTarget and an `address()` method. */
class EventServer extends EventTarget {
  constructor(readonly boundPort: number) {
    super()
  }
  address() {
    return { port: this.boundPort }
  }
  close(): void {
    this.dispatchEvent(new Event('close'))
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('ServerRegistry', () => {
  it('registers, looks up, lists and unregisters', () => {
    const registry = new ServerRegistry<PromiseServer, { alpn: string }>()
    const server = new PromiseServer()
    server.bind(4000)
    const before = Date.now()
    registry.register('api', server, { options: { alpn: 'peer/1' } })
    const entry = registry.lookup('api')!
    expect(entry.server).toBe(server)
    expect(entry.port).toBe(4000)
    expect(entry.options).toEqual({ alpn: 'peer/1' })
    expect(entry.startedAt).toBeGreaterThanOrEqual(before)
    expect(registry.list().map((e) => e.name)).toEqual(['api'])
    expect(registry.names()).toEqual(['api'])
    expect(registry.has('api')).toBe(true)
    expect(registry.unregister('api')).toBe(true)
    expect(registry.unregister('api')).toBe(false)
    expect(registry.lookup('api')).toBeUndefined()
    expect(registry.size).toBe(0)
  })

  it('rejects a duplicate name and keeps the first entry', () => {
    const registry = new ServerRegistry()
    const first = new PromiseServer()
    registry.register('api', first)
    expect(() => registry.register('api', new PromiseServer())).toThrow(DuplicateServerNameError)
    expect(registry.lookup('api')!.server).toBe(first)
  })

  it('rejects bad names', () => {
    const registry = new ServerRegistry()
    expect(() => registry.register('', new PromiseServer())).toThrow(InvalidServerNameError)
    expect(() => registry.register('x'.repeat(256), new PromiseServer())).toThrow(InvalidServerNameError)
    expect(() => registry.register('a\nb', new PromiseServer())).toThrow(InvalidServerNameError)
    expect(() => registry.register(42 as unknown as string, new PromiseServer())).toThrow(
      InvalidServerNameError,
    )
  })

  it('rejects a server whose closing cannot be observed, and non-objects', () => {
    const registry = new ServerRegistry()
    expect(() => registry.register('a', { port: 1 })).toThrow(InvalidServerError)
    expect(() => registry.register('b', null as unknown as { port: number })).toThrow(InvalidServerError)
    expect(registry.size).toBe(0)
  })

  it('resolves a port-0 server to its bound port and caches it after the first call', () => {
    const registry = new ServerRegistry()
    const server = new PromiseServer()
    registry.register('api', server, { port: 0 })
    expect(registry.lookup('api')!.port).toBe(0)
    expect(() => registry.getPort('api')).toThrow(PortUnavailableError)
    server.bind(40123)
    expect(registry.getPort('api')).toBe(40123)
    const reads = server.portReads
    server.bind(1) // the cached port wins from now on
    expect(registry.getPort('api')).toBe(40123)
    expect(server.portReads).toBe(reads)
    expect(registry.lookup('api')!.port).toBe(40123)
  })

  it('reads the port of a real node:net server started on port 0', async () => {
    const registry = new ServerRegistry()
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      registry.register('tcp', server)
      expect(registry.getPort('tcp')).toBe((server.address() as { port: number }).port)
    } finally {
      server.close()
    }
    await once(server, 'close')
    expect(registry.has('tcp')).toBe(false)
  })

  it('uses the port given at registration and validates updatePort', () => {
    const registry = new ServerRegistry()
    registry.register('api', new PromiseServer(), { port: 5000 })
    expect(registry.getPort('api')).toBe(5000)
    registry.updatePort('api', 6000)
    expect(registry.getPort('api')).toBe(6000)
    for (const bad of [0, -1, 65536, 1.5, Number.NaN, '80' as unknown as number]) {
      expect(() => registry.updatePort('api', bad)).toThrow(InvalidPortError)
    }
    expect(registry.getPort('api')).toBe(6000)
    expect(() => registry.updatePort('nope', 7000)).toThrow(ServerNotFoundError)
    expect(() => registry.register('bad', new PromiseServer(), { port: 70000 })).toThrow(InvalidPortError)
  })

  it('throws ServerNotFoundError for unknown names', () => {
    const registry = new ServerRegistry()
    expect(() => registry.getPort('x')).toThrow(ServerNotFoundError)
    expect(() => registry.getConnections('x')).toThrow(ServerNotFoundError)
  })

  it("lists a server's connections (iterable or method) and none when it has no such member", () => {
    const registry = new ServerRegistry()
    const server = new PromiseServer()
    server.connections.add('c1').add('c2')
    registry.register('set', server)
    expect(registry.getConnections('set')).toEqual(['c1', 'c2'])
    const withMethod = Object.assign(new EventServer(1), { connections: () => ['x'] })
    registry.register('method', withMethod)
    expect(registry.getConnections('method')).toEqual(['x'])
    registry.register('none', new EventServer(2))
    expect(registry.getConnections('none')).toEqual([])
  })

  it('drops the entry by itself when the server closes (promise and event shapes)', async () => {
    const registry = new ServerRegistry()
    const events = recordEvents(registry, ['server:unregistered'])
    const a = new PromiseServer()
    const b = new EventServer(4001)
    registry.register('a', a)
    registry.register('b', b)
    a.close()
    b.close()
    await tick()
    expect(registry.size).toBe(0)
    expect(events.of('server:unregistered').map((e) => e.detail)).toEqual([
      { name: 'b', reason: 'closed' },
      { name: 'a', reason: 'closed' },
    ])
  })

  it('closing an old server after its name was re-registered keeps the new entry (race)', async () => {
    const registry = new ServerRegistry()
    const old = new PromiseServer()
    const oldEvents = new EventServer(1)
    registry.register('api', old)
    registry.register('ev', oldEvents)
    // the name is re-registered before the old server's close is observed
    registry.unregister('api')
    registry.unregister('ev')
    const fresh = new PromiseServer()
    const freshEvents = new EventServer(2)
    registry.register('api', fresh)
    registry.register('ev', freshEvents)
    old.close()
    oldEvents.close()
    await tick()
    expect(registry.lookup('api')!.server).toBe(fresh)
    expect(registry.lookup('ev')!.server).toBe(freshEvents)
    fresh.close()
    freshEvents.close()
    await tick()
    expect(registry.size).toBe(0)
  })

  it('the same server registered under a second name is dropped from both when it closes', async () => {
    const registry = new ServerRegistry()
    const server = new EventServer(9)
    registry.register('one', server)
    registry.register('two', server)
    server.close()
    expect(registry.size).toBe(0)
  })

  it('is bounded by maxServers', () => {
    const registry = new ServerRegistry({ maxServers: 2 })
    registry.register('a', new EventServer(1))
    registry.register('b', new EventServer(2))
    expect(() => registry.register('c', new EventServer(3))).toThrow(RegistryFullError)
    registry.unregister('a')
    registry.register('c', new EventServer(3))
    expect(registry.names()).toEqual(['b', 'c'])
    expect(() => new ServerRegistry({ maxServers: 0 })).toThrow(RegistryConfigError)
  })

  it('clear() forgets every entry and stops watching the servers', () => {
    const registry = new ServerRegistry()
    const server = new EventServer(1)
    registry.register('a', server)
    registry.clear()
    const events = recordEvents(registry, ['server:unregistered'])
    server.close()
    expect(events.events).toEqual([])
  })

  it('a throwing listener does not break registration', () => {
    const registry = new ServerRegistry()
    registry.addEventListener('server:registered', () => {
      throw new Error('boom')
    })
    registry.register('a', new EventServer(1))
    expect(registry.has('a')).toBe(true)
    expect(registry.listenerErrors).toBe(1)
  })
})

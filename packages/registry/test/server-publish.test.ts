// ServerRegistry's `publish` option with a plain publisher object that records its calls (the
// ServicePublisher interface; a PeerNode is the real one, see packages/node/test/server-publish.test.ts).
import { once } from 'node:events'
import { createServer } from 'node:net'
import { ServiceListTooLargeError } from '@peer/discovery-core'
import { recordingLogger } from '@peer/testkit/recording-logger'
import { describe, expect, it } from 'vitest'
import {
  DuplicateServerNameError,
  InvalidServerNameError,
  RegistryConfigError,
  ServerRegistry,
  type ServicePublisher,
} from '../src/index.js'

/** A publisher that records its calls; `fail` makes the next calls throw or reject. */
class RecordingPublisher implements ServicePublisher {
  readonly calls: string[] = []
  fail: 'throw' | 'reject' | undefined
  provide(name: string): Promise<void> | undefined {
    return this.#call(`+${name}`)
  }
  unprovide(name: string): Promise<void> | undefined {
    return this.#call(`-${name}`)
  }
  #call(entry: string): Promise<void> | undefined {
    this.calls.push(entry)
    if (this.fail === 'throw') throw new Error(`cannot ${entry}`)
    if (this.fail === 'reject') return Promise.reject(new Error(`cannot ${entry}`))
    return undefined
  }
}

/** A server that closes when told to (a `closed` promise). */
class FakeServer {
  #resolve!: () => void
  readonly closed = new Promise<void>((r) => {
    this.#resolve = r
  })
  close(): void {
    this.#resolve()
  }
}

describe('ServerRegistry publish', () => {
  it('provides registered names and unprovides them when unregistered, closed or cleared', async () => {
    const publisher = new RecordingPublisher()
    const registry = new ServerRegistry<FakeServer>({ publish: publisher })
    const closing = new FakeServer()
    registry.register('api', new FakeServer())
    registry.register('kv.v2', closing)
    registry.register('search', new FakeServer())
    await registry.published()
    expect(publisher.calls).toEqual(['+api', '+kv.v2', '+search'])

    registry.unregister('api')
    closing.close()
    await closing.closed
    await registry.published()
    expect(publisher.calls.slice(3)).toEqual(['-api', '-kv.v2'])

    registry.clear()
    await registry.published()
    expect(publisher.calls.slice(5)).toEqual(['-search'])
    expect(registry.stats.publishErrors).toBe(0)
  })

  it('publishes a name registered again after its server closed, and ignores the old server closing late', async () => {
    const publisher = new RecordingPublisher()
    const registry = new ServerRegistry<FakeServer>({ publish: publisher })
    const first = new FakeServer()
    registry.register('api', first)
    registry.unregister('api')
    const second = new FakeServer()
    registry.register('api', second)
    first.close()
    await first.closed
    await registry.published()
    // the old instance closing leaves the new entry, and its publication, alone
    expect(publisher.calls).toEqual(['+api', '-api', '+api'])
    expect(registry.has('api')).toBe(true)
    second.close()
    await second.closed
    await registry.published()
    expect(publisher.calls).toEqual(['+api', '-api', '+api', '-api'])
  })

  it('rejects names that are not service names, and more names than one list holds', () => {
    const registry = new ServerRegistry<FakeServer>({ publish: new RecordingPublisher() })
    for (const name of ['API', 'my api', '-api', 'a'.repeat(64)]) {
      expect(() => registry.register(name, new FakeServer())).toThrow(InvalidServerNameError)
    }
    expect(() => registry.register('My Api', new FakeServer())).toThrow(/cannot be published as a service/)
    for (let i = 0; i < 32; i++) registry.register(`s${i}`, new FakeServer())
    expect(() => registry.register('s32', new FakeServer())).toThrow(ServiceListTooLargeError)
    expect(registry.size).toBe(32)
    // a duplicate is still a duplicate first
    expect(() => registry.register('s0', new FakeServer())).toThrow(DuplicateServerNameError)
    // without publish, any server name is fine
    expect(new ServerRegistry<FakeServer>().register('My Api', new FakeServer()).name).toBe('My Api')
  })

  it('counts and logs a publisher that throws or rejects; the server stays registered', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const publisher = new RecordingPublisher()
      const { records, factory } = recordingLogger()
      const registry = new ServerRegistry<FakeServer>({ publish: publisher, logger: factory })
      publisher.fail = 'throw'
      registry.register('a', new FakeServer())
      publisher.fail = 'reject'
      registry.register('b', new FakeServer())
      await registry.published()
      expect(registry.stats.publishErrors).toBe(2)
      expect(records.filter((r) => r.level === 'warn').map((r) => r.message)).toEqual([
        'publisher provide failed',
        'publisher provide failed',
      ])
      expect(registry.names()).toEqual(['a', 'b'])
      // the queue keeps going after failures
      publisher.fail = undefined
      registry.unregister('a')
      await registry.published()
      expect(publisher.calls).toEqual(['+a', '+b', '-a'])
      await new Promise((r) => setTimeout(r, 10))
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('calls the publisher in order, one call at a time', async () => {
    const calls: string[] = []
    let inFlight = 0
    let most = 0
    const slow = (entry: string) => async () => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      calls.push(entry)
      inFlight--
    }
    const registry = new ServerRegistry<FakeServer>({
      publish: { provide: (n: string) => slow(`+${n}`)(), unprovide: (n: string) => slow(`-${n}`)() },
    })
    registry.register('api', new FakeServer())
    registry.unregister('api')
    registry.register('api', new FakeServer())
    await registry.published()
    expect(calls).toEqual(['+api', '-api', '+api'])
    expect(most).toBe(1)
  })

  it('await using unpublishes every name and waits for it', async () => {
    const publisher = new RecordingPublisher()
    {
      await using registry = new ServerRegistry<FakeServer>({ publish: publisher })
      registry.register('api', new FakeServer())
    }
    expect(publisher.calls).toEqual(['+api', '-api'])
  })

  it('publishes a node:net server and unpublishes it when it closes', async () => {
    const publisher = new RecordingPublisher()
    const registry = new ServerRegistry({ publish: publisher })
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    registry.register('echo', server)
    const closed = once(server, 'close')
    server.close()
    await closed
    await registry.published()
    expect(publisher.calls).toEqual(['+echo', '-echo'])
  })

  it('published() honours an abort signal', async () => {
    const registry = new ServerRegistry<FakeServer>({
      publish: { provide: () => new Promise(() => {}), unprovide: () => undefined },
    })
    registry.register('stuck', new FakeServer())
    const controller = new AbortController()
    const waiting = registry.published({ signal: controller.signal })
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    // without publish there is nothing to wait for
    await new ServerRegistry().published()
  }, 10_000)

  it('a publish option without provide and unprovide is a RegistryConfigError naming it', () => {
    for (const bad of [{}, { provide() {} }, null, 'node'] as unknown[]) {
      const error = (() => {
        try {
          new ServerRegistry({ publish: bad as ServicePublisher })
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(RegistryConfigError)
      expect(error).toMatchObject({ option: 'publish' })
    }
  })
})

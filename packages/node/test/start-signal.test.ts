// `{ signal }` on the node's start and on broadcast: a start that a discovery backend holds up
// (a server it cannot reach) is cancelled by the caller's signal and leaves nothing running.
import {
  type AbortOptions,
  type DiscoveryBackend,
  type DiscoveryCapability,
  type DiscoveryEvents,
  type PeerRecord,
  TypedEventTarget,
} from '@peer/discovery-core'
import { generateIdentity } from '@peer/identity'
import { collectGarbage, openSockets, settledSockets } from '@peer/testkit/handles'
import { waitFor } from '@peer/testkit/wait'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, NodeError, PeerNode } from '../src/index.js'
import { type Member, startCluster, stopAll } from './helpers.js'

/** A backend whose start waits until its signal aborts (a server that never answers). */
class StuckBackend extends TypedEventTarget<DiscoveryEvents> implements DiscoveryBackend {
  readonly source = 'stuck'
  readonly capabilities = new Set<DiscoveryCapability>(['list'])
  readonly stats = { invalidRecords: 0, overflowDrops: 0, listenerErrors: 0, errors: 0 }
  started = false
  startCalled = false
  async start(options: AbortOptions = {}): Promise<void> {
    this.startCalled = true
    const signal = options.signal
    // without a signal this start never returns: the test's timeout then fails it
    await new Promise<void>((_, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }
  async stop(): Promise<void> {
    this.started = false
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
  async lookup(): Promise<PeerRecord | undefined> {
    return undefined
  }
  async list(): Promise<PeerRecord[]> {
    return []
  }
}

const running: Member[] = []
afterEach(async () => {
  await stopAll(running.splice(0))
})

describe('start({ signal })', () => {
  it('an aborted signal rejects before anything starts', async () => {
    const identity = await generateIdentity()
    await expect(createNode({ identity, trust: [] }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })

  it('aborting while discovery starts rejects with the abort and leaves the node stopped, its socket closed', async () => {
    const identity = await generateIdentity()
    // a first node creates the process's lasting sockets (the engine's runtime); count after it
    await (await createNode({ identity, trust: [] })).stop()
    const before = await settledSockets()
    const backend = new StuckBackend()
    const node = new PeerNode({ identity, trust: [], discovery: backend })
    const controller = new AbortController()
    const starting = node.start({ signal: controller.signal })
    // the start reached the backend: the listener is bound by then
    await waitFor(() => backend.startCalled, { what: 'discovery start' })
    expect(openSockets()).toBeGreaterThan(before)
    controller.abort()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(node.state).toBe('stopped')
    await expect(node.start()).rejects.toBeInstanceOf(NodeError)
    // the listener's UDP socket is gone again
    await waitFor(
      () => {
        collectGarbage()
        return openSockets() <= before
      },
      { what: 'the listener socket closed' },
    )
  }, 60_000)
})

describe('broadcast options', () => {
  it('an aborted signal rejects and sends nothing; priority picks the lane and is checked', async () => {
    const members = await startCluster(['a', 'b'])
    running.push(...members)
    const [a, b] = members
    const got: string[] = []
    b!.node.handle('news', (s: string) => {
      got.push(s)
    })
    await expect(a!.node.broadcast('news', 'no', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    })
    await expect(a!.node.broadcast('news', 'x', { priority: 'nope' as never })).rejects.toThrow(/priority/)
    expect(await a!.node.broadcast('news', 'yes', { priority: 'urgent' })).toBe(1)
    await expect.poll(() => got, { timeout: 30_000 }).toEqual(['yes'])
  }, 60_000)
})

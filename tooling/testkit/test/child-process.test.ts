import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ChildRpcError, type RpcChild, spawnChild } from '../src/child-process.js'
import { createNetns, type Netns } from '../src/netns.js'

const CHILD = fileURLToPath(new URL('./fixtures/rpc-child.ts', import.meta.url))

describe('spawnChild / serveRpc', () => {
  const children: RpcChild[] = []
  const namespaces: Netns[] = []
  afterAll(async () => {
    await Promise.all(children.map((c) => c.close()))
    await Promise.all(namespaces.map((n) => n.delete()))
  })
  const start = async (options: Parameters<typeof spawnChild>[1] = {}) => {
    const child = await spawnChild(CHILD, options)
    children.push(child)
    return child
  }

  it('runs a TypeScript module with tsx and answers calls', async () => {
    const child = await start({ args: ['a', 'b'] })
    expect(await child.call('echo', { x: [1, 'two'] })).toEqual({ x: [1, 'two'] })
    expect(await child.call('argv')).toEqual(['a', 'b'])
    expect(await child.call('pid')).toBe(child.pid)
  })

  it('rejects with the error thrown in the child, keeping its name', async () => {
    const child = await start()
    const error = await child.call('fail').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChildRpcError)
    expect((error as Error).name).toBe('TypeError')
    expect((error as Error).message).toBe('boom')
    await expect(child.call('nope')).rejects.toThrow(/unknown method nope/)
  })

  it('delivers events pushed by the child', async () => {
    const child = await start()
    const next = child.nextEvent<{ n: number }>('tick', (d) => d.n === 2)
    await child.call('emitSoon', { event: 'tick', data: { n: 1 }, ms: 10 })
    await child.call('emitSoon', { event: 'tick', data: { n: 2 }, ms: 20 })
    expect(await next).toEqual({ n: 2 })
  })

  it('keeps stray stdout lines out of the protocol', async () => {
    const child = await start()
    expect(await child.call('noise')).toBe('ok')
    expect(child.noise).toContain('not json')
    expect(await child.call('echo', 1)).toBe(1)
  })

  it('close() runs the shutdown hook; crash() kills -9 without it', async () => {
    const a = await start()
    const shutdown = a.nextEvent('shutdown')
    const exit = await a.close()
    await shutdown
    expect(exit).toEqual({ code: 0, signal: null })
    await expect(a.call('echo', 1)).rejects.toThrow(/exited/)

    const b = await start()
    const pending = b.call('emitSoon', { event: 'x', data: null, ms: 10_000 })
    await pending
    const waiting = b.nextEvent('x')
    expect(await b.crash()).toEqual({ code: null, signal: 'SIGKILL' })
    await expect(waiting).rejects.toThrow(/exited/)
  })

  it('times out a call that gets no answer', async () => {
    const child = await start()
    child.kill('SIGSTOP')
    await expect(child.call('echo', 1, { timeoutMs: 200 })).rejects.toThrow(/timed out/)
    child.kill('SIGCONT')
    expect(await child.call('echo', 2)).toBe(2)
  })

  it('runs inside a network namespace', async () => {
    const ns = await createNetns({ label: 'child' })
    namespaces.push(ns)
    const child = await start({ netns: ns.name })
    expect(await child.call('interfaces')).toEqual(['lo'])
  })

  it('fails clearly when the module does not start', async () => {
    await expect(
      spawnChild(fileURLToPath(new URL('./fixtures/missing.ts', import.meta.url))),
    ).rejects.toThrow(/exited .* before it was ready/)
  })
})

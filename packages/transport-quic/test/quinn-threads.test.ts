// The quinn binding's Rust runtime starts as the binding loads, with one worker thread per core by
// default. The transport loads it with one fewer (at least one) unless TOKIO_WORKER_THREADS says
// otherwise, and leaves the environment as it was. Each case in a fresh process (the binding loads
// once per process).
import { fileURLToPath } from 'node:url'
import { type RpcChild, spawnChild } from '@peer/testkit/child-process'
import { waitFor } from '@peer/testkit/wait'
import { afterAll, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/binding-threads.ts', import.meta.url))
const children: RpcChild[] = []
afterAll(async () => {
  await Promise.allSettled(children.map((c) => c.close(2000)))
})

async function loadWith(env: 'unset' | string) {
  const child = await spawnChild(fixture, { args: [env] })
  children.push(child)
  const loaded = await child.call<{ env: string | null; defaultWorkers: number }>('load', {})
  return { child, ...loaded }
}

it('runs one worker fewer than the cores by default, and leaves the environment unset', async () => {
  const { child, env, defaultWorkers } = await loadWith('unset')
  expect(env).toBeNull()
  // the workers start as the runtime is built: wait until they are all there, then check none more
  await waitFor(async () => (await child.call<number>('workers', {})) >= defaultWorkers, {
    timeoutMs: 10_000,
    what: `${defaultWorkers} tokio workers`,
  })
  await new Promise((r) => setTimeout(r, 200))
  expect(await child.call<number>('workers', {})).toBe(defaultWorkers)
})

it('honours TOKIO_WORKER_THREADS when it is set', async () => {
  const { child, env } = await loadWith('3')
  expect(env).toBe('3')
  await waitFor(async () => (await child.call<number>('workers', {})) === 3, {
    timeoutMs: 10_000,
    what: '3 tokio workers',
  })
})

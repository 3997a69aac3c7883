import { runExample } from '@peer/testkit/examples'
import { expect, it, vi } from 'vitest'
import { main } from '../examples/cluster.js'

it('the README example forms a cluster and answers a request (in process)', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    const answer = await main()
    expect(answer).toBe('hello world, from node2 to node1@localhost')
  } finally {
    log.mockRestore()
  }
})

it('the README example runs as a script and exits by itself (no handle left open)', async () => {
  const { stdout } = await runExample('packages/node/examples/cluster.ts', { timeoutMs: 30_000 })
  expect(stdout.trim()).toBe('hello world, from node2 to node1@localhost')
}, 40_000)

import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the README example runs as a script and exits by itself (no handle left open)', async () => {
  const { stdout } = await runExample('packages/node/examples/cluster.mjs', { timeoutMs: 30_000 })
  expect(stdout.trim()).toBe('hello world, from node2 to node1@localhost')
}, 40_000)

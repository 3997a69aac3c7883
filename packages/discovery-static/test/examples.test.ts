import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('examples/two-nodes.mjs: both nodes discover each other, then alice loses bob', async () => {
  const { stdout } = await runExample('packages/discovery-static/examples/two-nodes.mjs')
  expect(stdout).toContain('alice: discovered bob@localhost at 127.0.0.1:4002')
  expect(stdout).toContain('bob: discovered alice@localhost at 127.0.0.1:4001')
  expect(stdout).toContain('alice: lost bob@localhost')
})

import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('examples/two-peers.mjs connects alice to bob', async () => {
  const { stdout } = await runExample('packages/registry/examples/two-peers.mjs')
  expect(stdout).toMatch(/alice: connected to [a-z2-7]{8} \(outbound\)/)
  expect(stdout).toMatch(/bob: connected to [a-z2-7]{8} \(inbound\)/)
  expect(stdout).toContain('alice sees bob: connected, 1 address(es), 1 dial(s)')
})

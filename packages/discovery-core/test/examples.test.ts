import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('examples/custom-backend.mjs discovers the valid peer and counts the invalid one', async () => {
  const { stdout } = await runExample('packages/discovery-core/examples/custom-backend.mjs')
  expect(stdout).toContain(
    'discovered fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia (alice) via polling',
  )
  expect(stdout).toContain('invalid records dropped: 1')
})

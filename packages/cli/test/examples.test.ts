import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('examples/validate-config.mjs: a good config and the fields of a bad one', async () => {
  const { stdout } = await runExample('packages/cli/examples/validate-config.mjs')
  expect(stdout).toContain('ok: listen 127.0.0.1:4001, identity /etc/peer/identity')
  expect(stdout).toContain('bad: listen: expected a port in 0-65535, got 99999 in "127.0.0.1:99999"')
  expect(stdout).toContain(
    'bad: discovery[0].endpoints[0]: expected an etcd URL like "http://127.0.0.1:2379", got "localhost:2379"',
  )
})

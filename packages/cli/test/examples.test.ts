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

it('examples/status.mjs: a node serves its status on a control socket and the table shows its peer', async () => {
  const { stdout } = await runExample('packages/cli/examples/status.mjs')
  expect(stdout).toMatch(/^node1@localhost: node2@localhost is connected, rtt \d+\.\d ms$/m)
  expect(stdout).toMatch(/^addresses: 127\.0\.0\.1:\d+ via static$/m)
  expect(stdout).toContain('peers     1 up of 1 known')
  expect(stdout).toMatch(/discovery \[static\] invalidRecords 0/)
})

import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the services example runs as a script and exits by itself', async () => {
  const { stdout } = await runExample('packages/node/examples/services.mjs', { timeoutMs: 40_000 })
  expect(stdout.trim()).toBe('providers: 2\nfailover ok')
}, 50_000)

it('the named-servers example publishes a ServerRegistry name through the node, then takes it back', async () => {
  const { stdout } = await runExample('packages/node/examples/named-servers.mjs', { timeoutMs: 40_000 })
  expect(stdout).toMatch(/^provider publishes: echo$/m)
  expect(stdout).toMatch(/^client finds echo: 1 provider, port \d+$/m)
  expect(stdout).toMatch(/^after close: provider publishes 0, client sees 0$/m)
}, 50_000)

import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the services example runs as a script and exits by itself', async () => {
  const { stdout } = await runExample('packages/node/examples/services.mjs', { timeoutMs: 40_000 })
  expect(stdout.trim()).toBe('providers: 2\nfailover ok')
}, 50_000)

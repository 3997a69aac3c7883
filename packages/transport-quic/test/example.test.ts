import { runExample } from '@peer/testkit/examples'
import { expect, it } from 'vitest'

it('the README example echoes a message and exits by itself', async () => {
  const { stdout } = await runExample('packages/transport-quic/examples/echo.mjs', { timeoutMs: 30_000 })
  expect(stdout).toMatch(/^server hello: echo\/1 for [a-z2-7]{8}$/m)
  expect(stdout).toMatch(/^[a-z2-7]{8} answered: hello from [a-z2-7]{8} \(rtt \d+ ms\)$/m)
  expect(stdout).toMatch(/^datagrams: [1-9]\d* sent, [1-9]\d* received$/m)
}, 40_000)

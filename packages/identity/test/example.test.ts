import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isNodeId } from '@peer/discovery-core'
import { expect, it, vi } from 'vitest'
import { main } from '../examples/identity.js'

it('the README example runs, and loads the same identity the second time', async () => {
  const dir = await mkdtemp(join(tmpdir(), `peer-identity-example-${process.pid}-`))
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    const first = await main(dir)
    expect(isNodeId(first.id)).toBe(true)
    expect(first.trusted).toBe(1)
    const second = await main(dir)
    expect(second.id).toBe(first.id)
    expect(log.mock.calls.some((c) => String(c[0]).startsWith('loaded node'))).toBe(true)
  } finally {
    log.mockRestore()
    await rm(dir, { recursive: true, force: true })
  }
})

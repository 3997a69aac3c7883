import { expect, it, vi } from 'vitest'
import { main } from '../examples/echo.js'

it('the README example runs', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    expect(await main()).toMatch(/^hello from [a-z2-7]{8}$/)
    expect(log).toHaveBeenCalledOnce()
  } finally {
    log.mockRestore()
  }
})
